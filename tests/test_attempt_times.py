"""An attempt is stamped when it is recorded, under the write lock that orders its quiz's
hash chain, not when it arrived: otherwise an attempt that waited for the lock is
stamped before the one chained ahead of it, and ``quizgen audit`` reports honest
contention as back-dating (bench/bench_service.py found hundreds under load)."""

from __future__ import annotations

import sqlite3
import threading
import time

from quizgen.classroom.attempts import submit
from quizgen.classroom.audit import audit_quiz
from quizgen.clock import as_utc, now
from quizgen.store.db import open_store

from .helpers import make_class


def test_an_attempt_that_waited_for_the_lock_is_stamped_after_it_and_audits_clean(tmp_path):
    klass = make_class(tmp_path)
    store = open_store(str(klass.db), create=False)
    holder = sqlite3.connect(klass.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    done: dict[str, object] = {}

    def submitting() -> None:
        done["receipt"] = submit(store, klass.quiz, "20260001", klass.tokens["20260001"], {"1": "5"})

    worker = threading.Thread(target=submitting)
    worker.start()
    time.sleep(0.5)  # the submission has arrived and waits for the write lock
    assert worker.is_alive()
    released = now()
    holder.execute("COMMIT")
    holder.close()
    worker.join(30)
    receipt = done["receipt"]
    assert as_utc(receipt.submitted_at) >= released  # type: ignore[attr-defined]
    submit(store, klass.quiz, "20260002", klass.tokens["20260002"], {"1": "6"})
    report = audit_quiz(store, klass.quiz)
    store.dispose()
    assert report.intact and report.attempts == 2, [str(p) for p in report.problems]
