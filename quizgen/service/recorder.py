"""How one server process hands the API's submissions to the library.

SQLite: one writer at a time holds the file (whatever the process), and each commit
waits for its fsync. One thread per process records: it takes every submission
waiting, up to ``MAX_BATCH``, and records them together (classroom.attempts
.record_attempts: one transaction, one commit, a savepoint each, so one refused leaves
the others), while the next ones queue. Several threads each taking the write lock in
turn only took the GIL from the one holding it (service.context's old figures).

PostgreSQL: the same, with ``PG_THREADS`` recording threads, each taking every
submission waiting (up to ``MAX_BATCH``) into one transaction. A transaction per
submission (each its own thread, BEGIN, COMMIT and log flush) cost PostgreSQL and the
threads' GIL switches more than the work (bench/bench_service.py: 270 submits/s, 3.4 ms
of server CPU + 1.8 ms of PostgreSQL's per submit). One thread beat two and four
(bigger batches: 400-530 submits/s against 390-403 and 355-367, 2.2-2.9 ms of server
CPU against 2.8-2.9 and 3.0-3.1). Batches of other processes (and of more threads)
lock their students in one order (classroom.attempts), so two never wait on each other.

The event loop never waits on a thread: a submission is an asyncio future that the
recording thread resolves.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any

from ..classroom.attempts import AttemptRequest, Submitted, record_attempts
from ..errors import QuizgenError
from ..receipts import Signer
from ..store.db import Store

MAX_BATCH = 64  # submissions in one SQLite transaction: every waiting one, up to this
# PostgreSQL: threads recording batches at once per process (module doc)
PG_THREADS = 1

_Waiting = tuple[AttemptRequest, asyncio.AbstractEventLoop, "asyncio.Future[Submitted]"]


class Recorder:
    """Records the API's submissions (module doc); ``record`` is awaited in the event loop."""

    def __init__(self, store: Store, signer: Signer):
        self.store, self.signer = store, signer
        self._queue: deque[_Waiting] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    async def record(self, request: AttemptRequest) -> Submitted:
        """The attempt recorded, or its refusal (a QuizgenError) raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Submitted] = loop.create_future()
        with self._ready:
            if not self._threads:
                for n in range(1 if self.store.is_sqlite else PG_THREADS):
                    thread = threading.Thread(target=self._run, name=f"quizgen-recorder-{n}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
            self._queue.append((request, loop, future))
            self._ready.notify()
        return await future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._stopping:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            outcomes: list[Any]
            try:
                outcomes = list(record_attempts(self.store, [r for r, _, _ in batch], self.signer))
            except QuizgenError as exc:  # the database failed: nothing of the batch was committed
                outcomes = [exc] * len(batch)
            except Exception as exc:  # noqa: BLE001 - a bug: each request gets it, the thread carries on
                outcomes = [exc] * len(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Submitted], Any]]] = {}
            for (_, loop, future), outcome in zip(batch, outcomes):
                by_loop.setdefault(loop, []).append((future, outcome))
            for loop, answers in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle, answers)
                except RuntimeError:  # that event loop has closed: nobody is waiting
                    pass

    def stop(self) -> None:
        """Record what is queued, then let the thread end (the server is stopping)."""
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=30)


def _settle(answers: list[tuple[asyncio.Future[Submitted], Any]]) -> None:
    for future, outcome in answers:
        if future.done():  # the client went away and the request was cancelled
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
