"""The README's Layout section is the tree: one line per module, its first docstring line.

``python -m tests.test_readme_layout`` prints the section afresh to paste in.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "quizgen"
AREAS = {
    "nn": "the truth about models: specs, layer families, solver, derivations, summaries, code reading, Keras",
    "questions": "making quizzes: architectures, kinds and templates, what students are shown",
    "grading": "parsing answers, scoring, slips and grading keys, batch grading",
    "classroom": "the use-cases every front end calls, with the classroom's rules",
    "store": "engine, sessions, migrations from code; the tables",
    "exports": "one module per format; gradebook, item analysis, charts, the HTML report",
    "service": "the HTTP checking service: JSON API and the students' page",
    "client": "the student's side over HTTP: credentials, outbox, retries, receipts",
    "cli": "click commands only",
}


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ")
    first = re.sub(r"\s+", " ", first).strip()
    return first if len(first) <= 84 else first[:81].rstrip() + "..."


def layout() -> str:
    lines = ["quizgen/"]
    width = 26
    for p in sorted(PACKAGE.glob("*.py")):
        lines.append(f"  {p.name:<{width}}{_summary(p)}")
    for area in sorted(d.name for d in PACKAGE.iterdir() if d.is_dir() and (d / "__init__.py").exists()):
        lines.append(f"  {area + '/':<{width}}{AREAS.get(area, '')}")
        for p in sorted((PACKAGE / area).rglob("*.py")):
            if p.name == "__init__.py" and p.parent == PACKAGE / area:
                continue
            name = str(p.relative_to(PACKAGE / area))
            lines.append(f"    {name:<{width - 2}}{_summary(p)}")
    lines += [
        f"{'migrations/':<{width + 2}}Alembic environment and versions (shipped in the wheel as quizgen/_migrations)",
        f"{'data/':<{width + 2}}templates and wording (ko, en), sample roster (shipped as quizgen/_data)",
        f"{'docs/api.md':<{width + 2}}the HTTP API's contract",
        "tests/  bench/",
    ]
    return "\n".join(lines)


def _readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1].strip("\n")


def test_the_readme_layout_is_the_tree():
    assert _readme_block() == layout(), "run python -m tests.test_readme_layout and paste it into README.md"


if __name__ == "__main__":
    print(layout())
