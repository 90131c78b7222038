"""Shared set-up for tests that need a class: a database, a roster with tokens, a quiz."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from quizgen.cli.main import cli

ROSTER = ("id,name,email\n20260001,김민준,a@example.ac.kr\n20260002,이서연,b@example.ac.kr\n"
          "20260003,박지후,c@example.ac.kr\n20260004,\"=HYPERLINK(\"\"x\"\")\",d@example.ac.kr\n")
KINDS = "total-params,output-shape,summary,weight-shapes,layer-params,trainable-split"


@dataclass
class Klass:
    db: Path | str  # a SQLite file or a database URL
    tokens: dict[str, str]
    quiz: int

    def run(self, *args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(cli, ["--db", str(self.db), *args], env=env)

    def key(self, student: str) -> list[dict]:
        return json.loads(self.run("key", str(self.quiz), "--student", student, "--json").stdout)["answers"]

    def count(self, table: str) -> int:
        if isinstance(self.db, Path):
            con = sqlite3.connect(self.db)
            try:
                return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            finally:
                con.close()
        from sqlalchemy import create_engine, text

        from quizgen.store.db import resolve_url

        engine = create_engine(resolve_url(self.db))
        try:
            with engine.connect() as conn:
                return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        finally:
            engine.dispose()


def make_class(tmp_path: Path, *generate_args: str, db: str | None = None) -> Klass:
    db = Path(db) if db and "://" not in db else (db or tmp_path / "class.db")
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeff" + ROSTER, encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(db), "roster", "import", str(roster), "--json"])
    assert out.exit_code == 0, out.output
    tokens = {t["id"]: t["token"] for t in json.loads(out.stdout)}
    made = runner.invoke(cli, ["--db", str(db), "generate", "--title", "점검 퀴즈", "--count", "6", "--seed", "11",
                               "--kind", KINDS, "--students", str(roster), "--no-verify", "--json", *generate_args])
    assert made.exit_code == 0, made.output
    return Klass(db, tokens, json.loads(made.stdout)["id"])


def right_answers(key: list[dict]) -> dict[str, str]:
    """The correct answer to every question, written as a student would."""
    from quizgen.nn.shapes import format_shape

    def text(part: dict) -> str:
        if part["type"] == "memory":
            return part["value"]
        return format_shape(part["value"]) if part["type"] == "shape" else f"{part['value']:,}"

    out = {}
    for a in key:
        answer = a["answer"]
        if answer["type"] == "parts":
            for n, part in enumerate(answer["parts"], start=1):
                out[f"{a['slot']}.{n}"] = text(part)
        else:
            out[str(a["slot"])] = text(answer)
    return out


def grading_key_0_1(kind: str, spec: dict, answer: dict, breakdown: dict) -> tuple[str, dict]:
    """The grading key quizgen 0.1 stored: migration 0003's frozen backfill, loaded from its
    script. Keys it wrote stay as they are (stale) until ``grade --regrade --apply``."""
    import importlib.util

    from quizgen.resources import migrations_dir

    path = migrations_dir() / "versions" / "0003_question_grading_key.py"
    spec_ = importlib.util.spec_from_file_location("quizgen_migration_0003", path)
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module.grading_key_0003(kind, spec, answer, breakdown)
