"""An attempt is stamped when it is recorded, under the write lock, not when it arrived:
a receipt then names the instant its attempt was taken, however long it waited (and
bench/bench_service.py once found hundreds of attempts stamped out of order under load)."""

from __future__ import annotations

import sqlite3
import threading
import time

from quizgen.classroom.attempts import submit
from quizgen.classroom.audit import audit_quiz, trust_for
from quizgen.classroom.keys import open_signing
from quizgen.clock import as_utc, now
from quizgen.store.db import open_store

from .helpers import make_class


def test_an_attempt_that_waited_for_the_lock_is_stamped_after_it_and_audits_clean(tmp_path):
    klass = make_class(tmp_path)
    store = open_store(str(klass.db), create=False)
    signing = open_signing(store, str(klass.db), None)
    holder = sqlite3.connect(klass.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    done: dict[str, object] = {}

    def submitting() -> None:
        done["receipt"] = submit(store, klass.quiz, "20260001", klass.tokens["20260001"], {"1": "5"}, signing)

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
    submit(store, klass.quiz, "20260002", klass.tokens["20260002"], {"1": "6"}, signing)
    report = audit_quiz(store, klass.quiz, trust_for(store, str(klass.db), None))
    store.dispose()
    assert report.intact and report.attempts == 2, [str(p) for p in report.problems]
    assert report.pending == [] and report.size == 2  # each local submit was sequenced after its commit
