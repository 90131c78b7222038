"""What every request of one server process shares: the opened store, the receipt
signer and the settings (attached to the app at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import text

from ..receipts import Signer
from ..store.db import Store
from .settings import ServiceSettings


@dataclass
class Context:
    store: Store
    signer: Signer
    settings: ServiceSettings

    def ping(self) -> None:
        """Read the database once (StoreError if it cannot be read)."""
        with self.store.read() as session:
            session.execute(text("SELECT 1")).scalar()


def context(request: Request) -> Context:
    return request.app.state.quizgen  # type: ignore[no-any-return]
