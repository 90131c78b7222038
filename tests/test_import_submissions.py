"""import-submissions obeys the quiz's rules (deadline, attempt limit) unless told
otherwise, says how many rows the override let through, and importing the same file
twice adds nothing the second time."""

from __future__ import annotations

import json

from .helpers import make_class, right_answers


def _file(klass, tmp_path, students=("20260001", "20260002"), when: str | None = None, name="lms.csv"):  # type: ignore[no-untyped-def]
    header = "student,question,answer" + (",submitted_at" if when else "")
    rows = [header]
    for sid in students:
        for k, v in right_answers(klass.key(sid)).items():
            rows.append(f'{sid},{k},"{v}"' + (f",{when}" if when else ""))
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_importing_the_same_file_twice_adds_nothing(tmp_path):
    klass = make_class(tmp_path)
    path = _file(klass, tmp_path)
    first = klass.run("import-submissions", str(klass.quiz), str(path), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["students"] == 2
    before = klass.count("submissions")
    again = klass.run("import-submissions", str(klass.quiz), str(path), "--json")
    assert again.exit_code == 0 and json.loads(again.stdout) == {
        "imported": 0, "students": 0, "already_imported": 2, "late": 0, "after_close": 0, "over_attempt_limit": 0}
    assert klass.count("submissions") == before and klass.count("attempts") == 2


def test_the_deadline_applies_unless_overridden(tmp_path):
    klass = make_class(tmp_path, "--deadline", "2030-06-01 12:00", "--tz", "Asia/Seoul")
    late = _file(klass, tmp_path, when="2030-06-01 12:01")  # wall-clock time in the quiz's zone
    refused = klass.run("import-submissions", str(klass.quiz), str(late))
    # in the quiz's language (Korean), as submit says it
    assert refused.exit_code == 1 and "2030-06-01 12:00 +09:00 (Asia/Seoul)에 마감되었습니다" in refused.stderr
    assert "--ignore-deadline" in refused.stderr and klass.count("submissions") == 0
    on_time = _file(klass, tmp_path, when="2030-06-01T03:00:00Z", name="ontime.csv")  # 12:00 in Seoul
    assert klass.run("import-submissions", str(klass.quiz), str(on_time)).exit_code == 0
    forced = klass.run("import-submissions", str(klass.quiz), str(late), "--ignore-deadline", "--json")
    assert forced.exit_code == 0, forced.output
    report = json.loads(forced.stdout)
    assert report["late"] == report["after_close"] == report["imported"] > 0


def test_an_import_without_times_is_checked_at_the_time_of_import(tmp_path):
    klass = make_class(tmp_path, "--deadline", "2020-01-01 00:00", "--allow-past")
    refused = klass.run("import-submissions", str(klass.quiz), str(_file(klass, tmp_path)))
    assert refused.exit_code == 1 and "2020-01-01 00:00" in refused.stderr and "마감되었습니다" in refused.stderr


def test_the_attempt_limit_applies_unless_overridden(tmp_path):
    klass = make_class(tmp_path, "--attempts", "1")
    sid = "20260001"
    assert klass.run("submit", "--allow-blank", str(klass.quiz), "--student", sid, "--token", klass.tokens[sid],
                     "--answer", "1=5").exit_code == 0
    path = _file(klass, tmp_path)
    refused = klass.run("import-submissions", str(klass.quiz), str(path))
    assert (
        refused.exit_code == 1 and "제출 기회 1번을 모두 사용했습니다" in refused.stderr
        and "--ignore-attempt-limit" in refused.stderr
    )
    assert klass.count("submissions") == 1  # all or nothing: 20260002's rows were not imported either
    forced = klass.run("import-submissions", str(klass.quiz), str(path), "--ignore-attempt-limit", "--json")
    report = json.loads(forced.stdout)
    assert forced.exit_code == 0 and report["students"] == 2 and report["over_attempt_limit"] > 0


def test_a_bad_time_is_one_line(tmp_path):
    klass = make_class(tmp_path)
    path = _file(klass, tmp_path, when="yesterday")
    refused = klass.run("import-submissions", str(klass.quiz), str(path))
    assert refused.exit_code == 1 and "is not a date and time" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
