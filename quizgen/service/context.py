"""What every request of one server process shares: the opened store, the receipt
signer and the settings (attached to the app at start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import text

from ..classroom.lti.keys import KeyRing
from ..classroom.lti.passback import Sender
from ..classroom.lti.platform_keys import PlatformKeys
from ..classroom.lti.services import LmsClient
from ..receipts import Signer
from ..store.db import Store
from .recorder import Recorder
from .settings import ServiceSettings


@dataclass
class Context:
    store: Store
    signer: Signer
    settings: ServiceSettings
    lti: LtiTool | None = None
    recorder: Recorder = field(init=False, repr=False)  # the API's submissions (service.recorder)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.store, self.signer)

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
