"""Throttles that stop attackers, not classmates (issue #17): a right token is never
refused because of anyone's failures, and the address failures are counted under is the
peer's, or what a reverse proxy the operator trusts says, normalised."""

from __future__ import annotations

import pytest

from quizgen.classroom.logins import client_key, subjects
from quizgen.service.addresses import TrustedProxies, client_address

from .helpers import make_class
from .server import bearer, start_server


def test_addresses_are_normalised():
    assert client_key("1.2.3.4") == "1.2.3.4"
    assert client_key("::ffff:1.2.3.4") == client_key("::FFFF:1.2.3.4") == "1.2.3.4"
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") != client_key("2001:db8::1")
    assert subjects("::ffff:10.0.0.7", "s1") == ["pair:10.0.0.7|s1", "student:s1", "ip:10.0.0.7"]


def test_forwarded_for_is_read_only_from_trusted_proxies():
    none, local = TrustedProxies(), TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    assert client_address("127.0.0.1", ["1.2.3.4"], none) == "127.0.0.1"  # the default trusts no one
    assert client_address("203.0.113.9", ["1.2.3.4"], local) == "203.0.113.9"  # not a proxy of ours
    assert client_address("127.0.0.1", ["1.2.3.4"], local) == "1.2.3.4"
    # the client wrote the left part itself; the rightmost hop our proxies did not add is the client
    assert client_address("127.0.0.1", ["6.6.6.6, 1.2.3.4, 10.1.1.1"], local) == "1.2.3.4"
    assert client_address("127.0.0.1", ["6.6.6.6", "1.2.3.4"], local) == "1.2.3.4"  # several headers, in order
    assert client_address("127.0.0.1", ["garbage, 1.2.3.4"], local) == "1.2.3.4"
    assert client_address("127.0.0.1", ["1.2.3.4, garbage"], local) == "127.0.0.1"  # a broken hop ends the walk
    assert client_address("::ffff:127.0.0.1", ["5.5.5.5"], local) == "5.5.5.5"


@pytest.fixture()
def served(tmp_path):
    klass = make_class(tmp_path)
    server = start_server(str(klass.db), tmp_path)
    yield klass, server
    server.stop()


def test_a_classmates_failures_never_lock_out_the_right_token(served):
    """The hostile tester's 21 requests as 's2:wrongN' made s2's right token get 429 for 5 minutes."""
    klass, server = served
    victim = "20260002"
    with server.client() as c:
        guesses = [c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(victim, f"wrong{n}")).status_code
                   for n in range(25)]
        read = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(victim, klass.tokens[victim]))
        post = c.post(f"/api/v1/quizzes/{klass.quiz}/submissions", json={"answers": {"1": "5"}},
                      headers={**bearer(victim, klass.tokens[victim]), "Idempotency-Key": "k1"})
        page = c.post("/quiz", data={"student": victim, "token": klass.tokens[victim], "quiz": str(klass.quiz),
                                     "lang": "ko"}, headers={"Sec-Fetch-Site": "same-origin"})
        still = c.get(f"/api/v1/quizzes/{klass.quiz}", headers=bearer(victim, "wrong-again"))
    assert guesses[:20] == [401] * 20 and set(guesses[20:]) == {429}
    assert read.status_code == 200 and post.status_code == 201 and page.status_code == 200
    assert still.status_code == 429 and int(still.headers["retry-after"]) > 0  # the guessing stays throttled
    assert klass.count("attempts") == 1
    # failures past the limit are not written down: a flood costs one read each
    assert klass.count("login_failures") == 20 * 3


def test_spoofed_forwarded_for_does_not_escape_the_throttle(served):
    """X-Forwarded-For from a client (no trusted proxy) is ignored: 60 failures with 60 made-up
    addresses all count against the one real peer."""
    klass, server = served
    with server.client() as c:
        codes = [c.get(f"/api/v1/quizzes/{klass.quiz}", headers={**bearer(f"nobody{n}", "x"),
                                                                 "X-Forwarded-For": f"1.2.3.{n}"}).status_code
                 for n in range(60)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}


def test_ipv4_mapped_addresses_are_one_client_behind_a_trusted_proxy(tmp_path):
    klass = make_class(tmp_path)
    server = start_server(str(klass.db), tmp_path, "--forwarded-allow-ips", "127.0.0.1")
    try:
        with server.client() as c:
            spellings = ["1.2.3.4", "::ffff:1.2.3.4", "::FFFF:1.2.3.4"]
            codes = [c.get(f"/api/v1/quizzes/{klass.quiz}", headers={**bearer(f"nobody{n}", "x"),
                                                                     "X-Forwarded-For": spellings[n % 3]}).status_code
                     for n in range(30)]
            other = c.get(f"/api/v1/quizzes/{klass.quiz}", headers={**bearer("nobody", "x"),
                                                                    "X-Forwarded-For": "5.6.7.8"})
    finally:
        server.stop()
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    assert other.status_code == 401  # another client behind the same proxy is not throttled with it


def test_a_bad_forwarded_allow_ips_is_one_line(tmp_path):
    klass = make_class(tmp_path)
    out = klass.run("serve", "--port", "0", "--forwarded-allow-ips", "not-an-ip")
    assert out.exit_code != 0 and "not an address or network" in out.output and "Traceback" not in out.output
