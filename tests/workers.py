"""Worker processes for the reliability tests (run as scripts, one process each).

    python tests/workers.py submit DB QUIZ STUDENT TOKEN COUNT [--until FILE]

submits COUNT attempts (or until FILE exists), printing one line per attempt:
``ACK <attempt> <seconds>`` after the commit, or ``ERR <message>``.

    python tests/workers.py regrade DB QUIZ CHUNK GO
    python tests/workers.py grade DB QUIZ CHUNK GO

regrade (with --apply) or grade the quiz in chunks of CHUNK rows, after waiting for
the file GO to exist (so that racing workers start together), printing ``OK``.
"""

from __future__ import annotations

import os
import sys
import time


def submit_loop(db: str, quiz: str, student: str, token: str, count: int, until: str | None) -> None:
    from quizgen.classroom.attempts import submit
    from quizgen.errors import QuizgenError
    from quizgen.store.db import open_store

    if os.environ.get("QUIZGEN_TEST_WRITE_BEGIN"):  # the negative control: SQLite's default DEFERRED begin
        import quizgen.store.db

        quizgen.store.db.WRITE_BEGIN = os.environ["QUIZGEN_TEST_WRITE_BEGIN"]
    from quizgen.classroom.keys import open_signing

    store = open_store(db)
    signing = open_signing(store, db, None)  # the key beside the database, made once by the first worker
    n = 0
    while (until is None and n < count) or (until is not None and not os.path.exists(until) and n < count):
        n += 1
        started = time.perf_counter()
        try:
            receipt = submit(store, quiz, student, token, {"1": str(1000 + n)}, signing)
        except QuizgenError as exc:
            print(f"ERR {exc}", flush=True)
            continue
        except Exception as exc:  # a driver error escaping quizgen would be a bug: report it
            print(f"ERR unexpected {type(exc).__name__}: {exc}", flush=True)
            continue
        print(f"ACK {receipt.attempt} {time.perf_counter() - started:.4f}", flush=True)
    store.dispose()


def grading(command: str, db: str, quiz: str, chunk: int, go: str) -> None:
    from quizgen.grading.batch import grade_quiz, regrade
    from quizgen.store.db import open_store

    store = open_store(db)
    while not os.path.exists(go):
        time.sleep(0.001)
    if command == "regrade":
        regrade(store, quiz, apply=True, chunk=chunk)
    else:
        grade_quiz(store, quiz, chunk=chunk)
    store.dispose()
    print("OK", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _, command, *args = sys.argv
    if command == "submit":
        until = args[args.index("--until") + 1] if "--until" in args else None
        submit_loop(args[0], args[1], args[2], args[3], int(args[4]), until)
    elif command in ("regrade", "grade"):
        grading(command, args[0], args[1], int(args[2]), args[3])
    else:
        raise SystemExit(f"unknown worker {command}")
