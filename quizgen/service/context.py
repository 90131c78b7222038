"""What every request of one server process shares: the opened store, the receipt
signer and the settings (attached to the app at start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from sqlalchemy import text

from ..receipts import Signer
from ..store.db import Store
from .settings import ServiceSettings


# Submissions one server process records at once on SQLite. Each needs the database's
# write lock, which one writer holds at a time across every process; the threads waiting
# for it poll BEGIN IMMEDIATE and, like those doing their first reads, take Python's GIL
# from the thread that holds the lock, so it is held longer. bench/bench_service.py, 64
# clients: with the thread pool's 40 threads the server spent 11-14 ms of CPU per submit,
# with 4 threads 7-9 ms, and p99 fell from about 2 s to 0.8-1.5 s (on a 2-core machine
# shared with other jobs). PostgreSQL keeps the pool's 40: its writers wait for their
# quiz's lock inside the database server, holding no GIL, and with 4 threads per process
# the same benchmark served fewer submits/s (40-55 against 54-66).
SQLITE_SUBMIT_THREADS = 4


@dataclass
class Context:
    store: Store
    signer: Signer
    settings: ServiceSettings
    _submitters: Any = field(default=None, repr=False)

    def submitters(self) -> anyio.CapacityLimiter:
        """The threads submissions are recorded in (made in the server's event loop, on first use)."""
        if self._submitters is None:
            self._submitters = (anyio.CapacityLimiter(SQLITE_SUBMIT_THREADS) if self.store.is_sqlite
                                else anyio.to_thread.current_default_thread_limiter())
        return self._submitters  # type: ignore[no-any-return]

    def ping(self) -> None:
        """Read the database once (StoreError if it cannot be read)."""
        with self.store.read() as session:
            session.execute(text("SELECT 1")).scalar()


def context(request: Request) -> Context:
    return request.app.state.quizgen  # type: ignore[no-any-return]
