"""What every request of one server process shares: the opened store, the receipt
signer and the settings (attached to the app at start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy import text

from ..receipts import Signer
from ..store.db import Store
from .settings import ServiceSettings


# Submissions one server process records at once. Each needs the database's write lock
# (SQLite's, or on PostgreSQL its quiz's locks), which one writer holds at a time across
# every process; more threads only wait for it, and while they wait for the lock or do
# their first reads they take Python's GIL from the thread that holds it, which makes
# the lock held longer. bench/bench_service.py, 64 clients: with the thread pool's 40
# threads the server spent 11-14 ms of CPU per submit, with 4 threads 8-9 ms, and p99
# fell from about 2 s to 1.1-1.5 s (SQLite, on a 2-core machine shared with other jobs).
SUBMIT_THREADS = 4


@dataclass
class Context:
    store: Store
    signer: Signer
    settings: ServiceSettings
    _submitters: Any = field(default=None, repr=False)

    def submitters(self) -> anyio.CapacityLimiter:
        """The threads submissions are recorded in (made in the server's event loop, on first use)."""
        if self._submitters is None:
            self._submitters = anyio.CapacityLimiter(SUBMIT_THREADS)
        return self._submitters  # type: ignore[no-any-return]

    def ping(self) -> None:
        """Read the database once (StoreError if it cannot be read)."""
        with self.store.read() as session:
            session.execute(text("SELECT 1")).scalar()


def context(request: Request) -> Context:
    return request.app.state.quizgen  # type: ignore[no-any-return]
