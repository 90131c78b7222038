"""The package's import direction, read from every module's imports (function-level
imports included): front ends → classroom → exports → grading → questions → nn | store
→ the base modules. Nothing imports upward, nn and store never import each other, and
the student's HTTP client stays clear of the database code."""

from __future__ import annotations

import ast
from pathlib import Path

import quizgen

PACKAGE = Path(quizgen.__file__).resolve().parent
BASE = {"errors", "files", "resources", "clock", "receipts", "merkle", "korean", "__init__"}
RANK = {"nn": 1, "store": 1, "questions": 2, "grading": 3, "exports": 4, "classroom": 5,
        "service": 6, "cli": 7, "client": 6}
# What a front end may reach beyond the ranks: the command line starts the server and the client.
ALSO = {"cli": {"service", "client"}}
# The student's client must not load the database: it may use only these modules above the base.
CLIENT_MAY_USE = {"classroom.answersheets", "grading.answers", "client"}


def _area(module: str) -> str:
    first = module.split(".")[0]
    if first == "__main__":  # ``python -m quizgen``: the command line's entry point
        return "cli"
    return first if first in RANK else "base"  # base modules, and names from quizgen/__init__ (__version__)


def _imports(path: Path) -> list[tuple[str, int]]:
    """The quizgen modules a file imports (dotted, relative to the package), with line numbers."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    package = list(here[:-1]) if here[-1] != "__init__" else list(here[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" if target else a.name for a in node.names] if node.module is None \
                    else [target]
            elif node.module and node.module.startswith("quizgen"):
                names = [node.module.removeprefix("quizgen").lstrip(".")]
            else:
                continue
            found += [(name, node.lineno) for name in names if name]
        elif isinstance(node, ast.Import):
            found += [(a.name.removeprefix("quizgen").lstrip("."), node.lineno) for a in node.names
                      if a.name.startswith("quizgen.")]
    return found


def _violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parts[-2].startswith("_"):  # quizgen/_migrations, _data in a wheel
            continue
        mine = _area(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for target, line in _imports(path):
            theirs = _area(target)
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports quizgen.{target}"
            if theirs == "base" or theirs == mine:
                continue
            if mine == "base":
                out.append(f"{where}: a base module imports {theirs}")
            elif mine == "client":
                if not any(target == m or target.startswith(m + ".") for m in CLIENT_MAY_USE):
                    out.append(f"{where}: the client may not load {theirs}")
            elif theirs in ALSO.get(mine, set()):
                continue
            elif RANK[theirs] >= RANK[mine]:
                out.append(f"{where}: {mine} may not import {theirs} (same or higher layer)")
    return out


def test_imports_run_one_way():
    assert _violations() == []


def test_the_check_can_fail(tmp_path, monkeypatch):
    """A positive control: an upward import planted in nn is reported."""
    planted = PACKAGE / "nn" / "zz_planted_for_test.py"
    planted.write_text("from ..classroom import quizzes\n", encoding="utf-8")
    try:
        assert any("zz_planted_for_test" in v and "nn may not import classroom" in v for v in _violations())
    finally:
        planted.unlink()


# Two-file circles that other work of issue #20.8 breaks; drop an entry once its circle is gone.
KNOWN_CIRCLES = {("grading.misconceptions", "grading.question_slips"), ("nn.graph", "nn.spec")}


def _circles() -> set[tuple[str, str]]:
    """Pairs of modules that import each other (function-level imports included)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        if path.parts[-2].startswith("_"):
            continue
        graph[".".join(path.relative_to(PACKAGE).with_suffix("").parts)] = {t for t, _ in _imports(path)}
    return {(a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ())}


def test_no_two_modules_import_each_other():
    assert _circles() - KNOWN_CIRCLES == set()


def test_the_circle_check_can_fail():
    """A positive control: two planted modules that import each other (one inside a function) are reported."""
    planted = PACKAGE / "classroom" / "zz_planted_a.py"
    other = PACKAGE / "classroom" / "zz_planted_b.py"
    planted.write_text("from . import zz_planted_b\n", encoding="utf-8")
    other.write_text("def f():\n    from .zz_planted_a import x\n", encoding="utf-8")
    try:
        assert ("classroom.zz_planted_a", "classroom.zz_planted_b") in _circles()
    finally:
        planted.unlink()
        other.unlink()
