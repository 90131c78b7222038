"""What a ``quizgen serve`` process needs to know, handed from the command to every worker."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from ..classroom.attempts import RateLimit
from ..classroom.logins import LoginThrottle
from .addresses import TrustedProxies

ENV = "QUIZGEN_SERVICE_SETTINGS"
MAX_BODY = 64 * 1024  # bytes: a quiz of 200 answers of 200 characters fits with room to spare


@dataclass(frozen=True)
class ServiceSettings:
    db: str | None
    key_file: str
    rate_limit: RateLimit = field(default_factory=RateLimit)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    max_body: int = MAX_BODY
    lti_key_file: str | None = None  # the LTI tool's keys [default: beside the database, classroom.lti.keys]
    forwarded_allow_ips: tuple[str, ...] = ()  # reverse proxies whose X-Forwarded-For is believed

    def proxies(self) -> TrustedProxies:
        return TrustedProxies.parse(self.forwarded_allow_ips)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServiceSettings:
        """The settings a worker process was started with (uvicorn imports the app by name)."""
        data = json.loads(os.environ[ENV])
        return cls(db=data["db"], key_file=data["key_file"], rate_limit=RateLimit(**data["rate_limit"]),
                   login_throttle=LoginThrottle(**data["login_throttle"]), max_body=data["max_body"],
                   lti_key_file=data.get("lti_key_file"),
                   forwarded_allow_ips=tuple(data.get("forwarded_allow_ips", ())))
