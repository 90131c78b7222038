"""What every request of one server process shares: the opened store, the receipt
signer and the settings (attached to the app at start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from sqlalchemy import text

from ..classroom.lti.keys import KeyRing
from ..classroom.lti.passback import Sender
from ..classroom.lti.platform_keys import PlatformKeys
from ..classroom.lti.services import LmsClient
from ..receipts import Signer
from ..store.db import Store
from .settings import ServiceSettings

# Submissions one server process records at once on SQLite: one. Each needs the file's
# write lock, which one writer holds at a time across every process, and every other
# thread of the process doing Python work takes the GIL from the one that holds it, so it
# is held longer. bench/bench_service.py, 64 clients, 2 workers, quiet 2-core machine:
# 4 threads 139-154 submits/s (8.1-9.1 ms of server CPU per submit), 2 threads 164-186,
# 1 thread 198-210 (6.4-6.9 ms); the pool's 40 threads were worse still (11-14 ms).
# PostgreSQL keeps the pool's 40: its writers wait for their quiz's lock inside the
# database server, and 2, 8 and 40 threads served the same 98-103 submits/s.
SQLITE_SUBMIT_THREADS = 1


@dataclass
class Context:
    store: Store
    signer: Signer
    settings: ServiceSettings
    lti: LtiTool | None = None
    _submitters: Any = field(default=None, repr=False)

    def submitters(self) -> anyio.CapacityLimiter:
        """The threads submissions are recorded in (made in the server's event loop, on first use)."""
        if self._submitters is None:
            self._submitters = (anyio.CapacityLimiter(SQLITE_SUBMIT_THREADS) if self.store.is_sqlite
                                else anyio.to_thread.current_default_thread_limiter())
        return self._submitters

    def ping(self) -> None:
        """Read the database once (StoreError if it cannot be read)."""
        with self.store.read() as session:
            session.execute(text("SELECT 1")).scalar()


@dataclass
class LtiTool:
    """The LTI tool's share of a server process: its keys (read again when rotated), the
    LMSs' public keys, the HTTP client and token cache for their services, the sender."""

    keys: KeyRing
    platform_keys: PlatformKeys
    client: LmsClient
    sender: Sender


def context(request: Request) -> Context:
    return request.app.state.quizgen
