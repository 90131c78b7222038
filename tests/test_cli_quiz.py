"""The instructor's commands end to end: generate, list, show, key, export, verify, init, db upgrade."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from quizgen.cli.main import cli

ROSTER = "id,name,email\n20260001,김민준,a@example.ac.kr\n20260002,이서연,b@example.ac.kr\n20260003,박지후,\n"


def run(db, *args, env=None):
    return CliRunner().invoke(cli, ["--db", str(db), *args], env=env)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


@pytest.fixture()
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeff" + ROSTER, encoding="utf-8")  # with a BOM, as Excel saves it
    return path


def test_generate_list_show_key_without_keras(tmp_path, roster):
    db = tmp_path / "q.db"
    result = run(db, "generate", "--title", "점검 퀴즈", "--count", "8", "--seed", "42", "--students", str(roster),
                 "--no-verify", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["students"] == 3 and made["status"] == "unverified"
    listed = json.loads(run(db, "list", "--json").stdout)
    assert [(q["id"], q["students"], q["questions"]) for q in listed] == [(made["id"], 3, 8)]

    shown = json.loads(run(db, "show", str(made["id"]), "--student", "20260002", "--json").stdout)
    assert len(shown["questions"]) == 8
    assert all(set(q) == {"slot", "kind", "points", "prompt"} for q in shown["questions"])
    key = json.loads(run(db, "key", str(made["id"]), "--student", "20260002", "--json").stdout)
    assert len(key["answers"]) == 8 and all(a["verified_at"] is None for a in key["answers"])
    shared = json.loads(run(db, "show", str(made["id"]), "--json").stdout)
    assert shared["questions"] != shown["questions"]  # the student's own numbers

    text = run(db, "show", str(made["id"]))
    assert "모델에 대한 설명이 다음과 같을 때" in text.output
    for answer in key["answers"]:
        if answer["answer"]["type"] == "count" and answer["kind"] != "inverse":
            assert f"{answer['answer']['value']:,}" not in "\n".join(q["prompt"] for q in shown["questions"])


def test_same_seed_gives_identical_exports(tmp_path, roster):
    outputs = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.db"
        assert run(db, "generate", "--title", "T", "--count", "8", "--seed", "7", "--students", str(roster),
                   "--no-verify").exit_code == 0
        formats = {}
        for fmt in ("markdown", "moodle-xml", "gift", "json"):
            out = run(db, "export", "1", "--format", fmt).stdout
            if fmt == "json":
                data = json.loads(out)
                data["quiz"].pop("created_at")
                out = json.dumps(data)
            formats[fmt] = out
        formats["key"] = run(db, "export", "1", "--format", "markdown", "--key").stdout
        outputs.append(formats)
    assert outputs[0] == outputs[1]
    assert "20260003" in outputs[0]["markdown"] and "정답과 풀이" in outputs[0]["key"]


def test_export_to_files_writes_worksheet_and_key(tmp_path):
    db = tmp_path / "q.db"
    run(db, "generate", "--title", "T", "--count", "3", "--seed", "1", "--no-verify", "--lang", "en")
    result = run(db, "export", "1", "--format", "markdown", "-o", str(tmp_path / "quiz.md"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "quiz.md").read_text(encoding="utf-8").startswith("# T — Worksheet")
    assert (tmp_path / "quiz.key.md").read_text(encoding="utf-8").startswith("# T — Answer key")


def test_generate_confirms_with_keras_and_verify_reconfirms(tmp_path, roster, checker):
    db = tmp_path / "q.db"
    result = run(db, "generate", "--title", "검증", "--count", "8", "--seed", "3", "--students", str(roster), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ready"
    key = json.loads(run(db, "key", "1", "--json").stdout)
    assert all(a["keras_version"] == checker.keras.__version__ for a in key["answers"])
    again = run(db, "verify", "1", "--json")
    assert json.loads(again.stdout)["checked"] == 0  # nothing outdated
    forced = run(db, "verify", "1", "--force", "--json")
    report = json.loads(forced.stdout)
    assert report["checked"] == 32 and report["disagreements"] == [] and report["status"] == "ready"


def test_verify_after_no_verify_and_after_a_keras_version_change(tmp_path, checker):
    db = tmp_path / "q.db"
    run(db, "generate", "--title", "T", "--count", "4", "--seed", "2", "--no-verify")
    first = json.loads(run(db, "verify", "1", "--json").stdout)
    assert first["checked"] == 4 and first["status"] == "ready"
    con = sqlite3.connect(db)
    con.execute("UPDATE questions SET keras_version = '3.0.0' WHERE slot = 2")
    con.commit()
    con.close()
    second = json.loads(run(db, "verify", "1", "--json").stdout)
    assert second["checked"] == 1 and second["skipped"] == 3


def test_verify_catches_a_wrong_stored_key(tmp_path, checker):
    db = tmp_path / "q.db"
    run(db, "generate", "--title", "T", "--count", "1", "--seed", "2", "--kind", "total-params", "--no-verify")
    con = sqlite3.connect(db)
    row = con.execute("SELECT id, breakdown FROM questions").fetchone()
    breakdown = json.loads(row[1])
    breakdown["layers"][0]["trainable"] += 1
    con.execute("UPDATE questions SET breakdown = ? WHERE id = ?", (json.dumps(breakdown), row[0]))
    con.commit()
    con.close()
    result = run(db, "verify", "1")
    assert result.exit_code == 1 and "question 1" in result.stderr


BAD = [
    (["show", "99"], "no quiz 99"),
    (["show", "abc"], "not a quiz id"),
    (["key", "0"], "not a quiz id"),
    (["show", "9" * 30], "no quiz 999"),  # beyond a 64-bit id: the driver would raise OverflowError
    (["grade", "9" * 30], "no quiz 999"),
    (["report", "9223372036854775808"], "no quiz 9223372036854775808"),
    (["show", "1", "--student", "nobody"], "퀴즈 1의 응시자가 아닙니다"),  # a student's screen: the quiz's language
    (
        ["generate", "--title", "T", "--count", "0", "--seed", "1", "--no-verify"],
        "'--count': 0 is not in the range 1<=x<=200",
    ),
    (
        ["generate", "--title", "T", "--count", "100000", "--seed", "1", "--no-verify"],
        "'--count': 100000 is not in the range",
    ),
    (["generate", "--title", "T", "--seed", "1", "--kind", "essay", "--no-verify"], "unknown question kind 'essay'"),
    (["generate", "--title", "T", "--seed", "1", "--range", "hidden=0-3", "--no-verify"], "not positive"),
    (["generate", "--title", "T", "--seed", "1", "--range", "nonsense", "--no-verify"], "NAME=LO-HI"),
    (["generate", "--title", "T", "--seed", "-5", "--no-verify"], "'--seed': -5 is not in the range"),
    (["generate", "--title", " ", "--seed", "1", "--no-verify"], "needs a title"),
    (
        ["generate", "--title", "T", "--seed", "1", "--attempts", "0", "--no-verify"],
        "'--attempts': 0 is not in the range 1<=x<=1000000",
    ),
    (
        ["generate", "--title", "T", "--seed", "1", "--attempts", "9" * 20, "--no-verify"],
        "is not in the range 1<=x<=1000000",
    ),
    (["generate", "--title", "T", "--seed", "1", "--range", "hidden=1-" + "9" * 20, "--no-verify"], "goes past"),
    (["generate", "--title", "T", "--seed", "1", "--students", "{missing}", "--no-verify"], "no such file"),
    (["generate", "--title", "T", "--seed", "1", "--students", "{badroster}", "--no-verify"], "id and name"),
    (["generate", "--title", "T", "--seed", "1", "--students", "{duproster}", "--no-verify"], "appears twice"),
    (["export", "1", "--format", "markdown", "-o", "{nodir}"], "does not exist"),
    (["export", "1", "--format", "markdown", "-o", "{longname}"], "File name too long"),
    (["export", "1", "--format", "json", "-o", ""], "not a file name"),
    (["gradebook", "1", "-o", "{longname}"], "File name too long"),
    (["report", "1", "--png", "{longname}"], "File name too long"),
    (["generate", "--title", "T", "--seed", "1", "--students", "{longname}", "--no-verify"], "File name too long"),
    (["import-submissions", "1", "{longname}"], "File name too long"),
    (["roster", "import", "{longname}"], "File name too long"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(BAD)])
def test_bad_input_one_line_and_database_unchanged(tmp_path, args, message):
    db = tmp_path / "q.db"
    assert run(db, "generate", "--title", "T", "--count", "2", "--seed", "1", "--no-verify").exit_code == 0
    (tmp_path / "bad.csv").write_text("id,email\n1,a@b.c\n", encoding="utf-8")
    (tmp_path / "dup.csv").write_text("id,name\n1,A\n1,B\n", encoding="utf-8")
    args = [a.format(missing=tmp_path / "none.csv", badroster=tmp_path / "bad.csv", duproster=tmp_path / "dup.csv",
                     nodir=tmp_path / "no" / "x.md", longname=tmp_path / ("x" * 300), tmp=tmp_path) for a in args]
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = _digest(db)
    result = run(db, *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("Error: ", "오류: ")) and message in lines[0], result.stderr
    assert result.stdout == ""
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert con.execute("SELECT count(*) FROM quizzes").fetchone()[0] == 1
    con.close()
    assert _digest(db) == before


@pytest.mark.parametrize("content,message", [
    (b"not a database at all" * 50, "not a quizgen database"),
    (b"SQLite format 3\x00" + bytes(range(256)) * 20, "not a quizgen database"),
])
def test_corrupt_or_foreign_database_file(tmp_path, content, message):
    db = tmp_path / "q.db"
    db.write_bytes(content)
    for args in (["list"], ["show", "1"], ["generate", "--title", "T", "--seed", "1", "--no-verify"], ["init"]):
        result = run(db, *args)
        assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1, result.output
    assert db.read_bytes() == content


def test_database_from_a_newer_quizgen(tmp_path):
    db = tmp_path / "q.db"
    assert run(db, "init").exit_code == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    result = run(db, "list")
    assert result.exit_code == 1 and "newer quizgen" in result.stderr


def test_missing_folder_is_not_created(tmp_path):
    result = run(tmp_path / "nope" / "q.db", "init")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "nope").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions do not stop root from writing")
def test_read_only_database(tmp_path):
    db = tmp_path / "q.db"
    run(db, "generate", "--title", "T", "--count", "1", "--seed", "1", "--no-verify")
    db.chmod(0o444)
    assert run(db, "list").exit_code == 0
    result = run(db, "generate", "--title", "T", "--count", "1", "--seed", "1", "--no-verify")
    assert result.exit_code == 1 and "read-only" in result.stderr


def test_init_db_upgrade_and_env_var(tmp_path):
    db = tmp_path / "env.db"
    result = CliRunner().invoke(cli, ["init"], env={"QUIZGEN_DB": str(db)})
    assert result.exit_code == 0 and "Created" in result.stderr and db.exists()
    again = CliRunner().invoke(cli, ["init"], env={"QUIZGEN_DB": str(db)})
    assert "already" in again.stderr
    up = CliRunner().invoke(cli, ["db", "upgrade"], env={"QUIZGEN_DB": str(db)})
    assert up.exit_code == 0 and "nothing to do" in up.stderr


def test_default_database_is_quizgen_db_in_the_current_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "quizgen", "init"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "quizgen.db").exists()


@pytest.mark.parametrize("value", ["abc", "-5", "9" * 30])
def test_a_bad_busy_timeout_is_one_clear_line(tmp_path, value):
    result = run(tmp_path / "q.db", "list", env={"QUIZGEN_BUSY_TIMEOUT_MS": value})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: QUIZGEN_BUSY_TIMEOUT_MS must be") and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "q.db").exists()


@pytest.mark.slow
def test_tensorflow_says_nothing_on_stderr(tmp_path, checker):
    """TensorFlow's C++ and absl banners (oneDNN, CUDA, absl::InitializeLog) never reach the user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    out = subprocess.run([sys.executable, "-m", "quizgen", "--db", str(tmp_path / "q.db"), "generate", "--title", "T",
                          "--count", "2", "--seed", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    noise = [line for line in out.stderr.splitlines()
             if line.strip() and not line.startswith(("Confirming answers with Keras", "2 questions confirmed",
                                                      "No student has a variant yet"))]
    assert noise == [], noise
