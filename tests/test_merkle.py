"""quizgen.merkle against RFC 9162's definitions: small trees hashed by hand, a second
implementation written here from the RFC's recursive definitions (section 2.1), and
pymerkle (an independent implementation) for the roots."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from quizgen import merkle


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


# ---------------------------------------------------------------- the RFC, literally

def mth(d: list[bytes]) -> bytes:
    """MTH over raw entries (not hashes), as section 2.1.1 writes it."""
    n = len(d)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return H(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def entries(n: int) -> list[bytes]:
    return [f"attempt {i}".encode() for i in range(n)]


# ---------------------------------------------------------------- tests

def test_small_trees_hashed_by_hand():
    a, b, c = b"a", b"b", b"c"
    la, lb, lc = H(b"\x00a"), H(b"\x00b"), H(b"\x00c")
    assert merkle.root([]) == H(b"")
    assert merkle.root([la]) == la
    assert merkle.root([la, lb]) == H(b"\x01" + la + lb)
    # three leaves split 2 + 1
    assert merkle.root([la, lb, lc]) == H(b"\x01" + H(b"\x01" + la + lb) + lc)
    assert merkle.inclusion_proof(2, [la, lb, lc]) == [H(b"\x01" + la + lb)]
    assert merkle.inclusion_proof(0, [la, lb, lc]) == [lb, lc]
    assert merkle.consistency_proof(2, [la, lb, lc]) == [lc]
    assert merkle.leaf_hash(a) == la and merkle.leaf_hash(b) == lb and merkle.leaf_hash(c) == lc


@pytest.mark.parametrize("n", range(1, 41))
def test_the_tree_hash_and_proofs_are_the_rfcs(n):
    d = entries(n)
    leaves = [merkle.leaf_hash(e) for e in d]
    assert merkle.root(leaves) == mth(d)
    for m in range(n):
        assert merkle.inclusion_proof(m, leaves) == path(m, d)
        assert merkle.verify_inclusion(leaves[m], m, n, path(m, d), mth(d))
    for m in range(1, n + 1):
        assert merkle.consistency_proof(m, leaves) == subproof(m, d, True)
        assert merkle.verify_consistency(m, mth(d[:m]), n, mth(d), subproof(m, d, True))


def test_frontier_appends_and_resumes():
    leaves = [merkle.leaf_hash(e) for e in entries(100)]
    frontier = merkle.Frontier()
    for i, h in enumerate(leaves):
        frontier.append(h)
        assert frontier.root() == mth(entries(i + 1))
        resumed = merkle.Frontier(frontier.size, list(frontier.hashes or []))  # as stored and read back
        assert resumed.root() == frontier.root()
    with pytest.raises(ValueError):
        merkle.Frontier(5, [leaves[0]])  # 5 leaves are two perfect subtrees (4 + 1)


def test_a_wrong_proof_is_refused():
    d = entries(13)
    leaves = [merkle.leaf_hash(e) for e in d]
    top = merkle.root(leaves)
    proof = merkle.inclusion_proof(6, leaves)
    assert merkle.verify_inclusion(leaves[6], 6, 13, proof, top)
    assert not merkle.verify_inclusion(leaves[5], 6, 13, proof, top)  # another leaf
    assert not merkle.verify_inclusion(leaves[6], 7, 13, proof, top)  # another position
    assert not merkle.verify_inclusion(leaves[6], 6, 8, proof, top)  # another size (one the path cannot fit)
    assert not merkle.verify_inclusion(leaves[6], 6, 13, proof[:-1], top)  # a step left out
    assert not merkle.verify_inclusion(leaves[6], 6, 13, [*proof, top], top)  # a step too many
    assert not merkle.verify_inclusion(leaves[6], 13, 13, proof, top)
    # an interior node passed off as a leaf: its path is a suffix of a real one, and only the
    # size (the path must use up the whole tree) tells it apart
    assert not merkle.verify_inclusion(top, 0, 13, [], top)
    pair = merkle.node_hash(leaves[0], leaves[1])
    assert not merkle.verify_inclusion(pair, 0, 13, merkle.inclusion_proof(0, leaves)[1:], top)
    cons = merkle.consistency_proof(5, leaves)
    old = merkle.root(leaves[:5])
    assert merkle.verify_consistency(5, old, 13, top, cons)
    changed = [*leaves[:2], merkle.leaf_hash(b"changed"), *leaves[3:]]  # history rewritten under the old size
    assert not merkle.verify_consistency(5, old, 13, merkle.root(changed), merkle.consistency_proof(5, changed))
    assert not merkle.verify_consistency(5, old, 13, top, [])
    assert not merkle.verify_consistency(6, old, 13, top, cons)
    for bad in itertools.islice(itertools.permutations(cons), 1, 4):
        assert not merkle.verify_consistency(5, old, 13, top, list(bad))


def test_roots_agree_with_pymerkle():
    pymerkle = pytest.importorskip("pymerkle", reason="pymerkle (the independent implementation) is not installed")
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    d = entries(70)
    for i, e in enumerate(d):
        tree.append_entry(e)
        assert merkle.root([merkle.leaf_hash(x) for x in d[: i + 1]]) == tree.get_root(i + 1)
    leaves = [merkle.leaf_hash(e) for e in d]
    for m in (1, 2, 3, 7, 8, 33, 69):
        # pymerkle's paths start with the proven leaf's own hash; the rest is RFC 9162's path
        theirs = [bytes.fromhex(h) for h in tree.prove_inclusion(m + 1, 70).serialize()["path"]]
        assert theirs[0] == leaves[m] and theirs[1:] == merkle.inclusion_proof(m, leaves)
