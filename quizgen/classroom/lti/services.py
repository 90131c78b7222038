"""Calling an LMS's services (AGS, NRPS) as the tool: an access token from the platform's
token URL by the OAuth 2 client-credentials grant, with a JWT client assertion signed by
the tool's key (IMS Security Framework 1.0, section 4.1), kept until it expires."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from ...clock import now
from ...errors import QuizgenError, clip
from .keys import ToolKeys
from .platforms import SCOPES, Platform

TIMEOUT_S = 15.0
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ServiceError(QuizgenError):
    """An LMS service call that failed; ``retry`` says whether trying again later may work."""

    def __init__(self, message: str, retry: bool, status: int | None = None):
        super().__init__(message)
        self.retry, self.status = retry, status


@dataclass
class _Token:
    value: str
    expires: float  # time.monotonic()


class LmsClient:
    """One process's HTTP client for LMS services, with its cache of access tokens (one per
    platform, for every scope quizgen uses)."""

    def __init__(self, http: httpx.Client | None = None):
        self.http = http or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False)
        self._tokens: dict[int, _Token] = {}
        self._lock = threading.Lock()
        self.token_requests = 0

    def close(self) -> None:
        self.http.close()

    def token(self, platform: Platform, keys: ToolKeys) -> str:
        held = self._tokens.get(platform.id)
        if held is not None and held.expires > time.monotonic():
            return held.value
        with self._lock:
            held = self._tokens.get(platform.id)
            if held is not None and held.expires > time.monotonic():
                return held.value
            stamp = now()
            assertion = keys.sign({"iss": platform.client_id, "sub": platform.client_id, "aud": platform.token_url,
                                   "iat": stamp, "exp": stamp + timedelta(minutes=5),
                                   "jti": secrets.token_urlsafe(16)})
            try:
                response = self.http.post(platform.token_url, data={
                    "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion, "scope": " ".join(SCOPES)})
            except httpx.HTTPError as exc:
                raise ServiceError(f"cannot reach the token URL of {platform.name}: {clip(str(exc), 100)}",
                                   True) from None
            self.token_requests += 1
            if response.status_code != 200:
                raise ServiceError(f"{platform.name}'s token URL answered {response.status_code}: "
                                   f"{clip(response.text, 120)}", _retryable(response.status_code),
                                   response.status_code)
            try:
                body = response.json()
                value, lifetime = str(body["access_token"]), int(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError):
                raise ServiceError(f"{platform.name}'s token URL gave no access token", True) from None
            # renewed a minute early, so a token never expires on its way to the LMS
            self._tokens[platform.id] = _Token(value, time.monotonic() + max(0, lifetime - 60))
            return value

    def forget_token(self, platform: Platform) -> None:
        self._tokens.pop(platform.id, None)

    def call(self, platform: Platform, keys: ToolKeys, method: str, url: str, *, media: str,
             body: Any = None, accept: str | None = None) -> httpx.Response:
        """An authorised request; a 401 renews the token and tries once more. ServiceError
        for anything but 2xx."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token(platform, keys)}"}
            if body is not None:
                headers["Content-Type"] = media
            if accept:
                headers["Accept"] = accept
            try:
                response = self.http.request(method, url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                raise ServiceError(f"cannot reach {clip(url, 80)}: {clip(str(exc), 100)}", True) from None
            if response.status_code == 401 and attempt == 1:
                self.forget_token(platform)
                continue
            if not 200 <= response.status_code < 300:
                raise ServiceError(f"{clip(url, 80)} answered {response.status_code}: {clip(response.text, 120)}",
                                   _retryable(response.status_code), response.status_code)
            return response
        raise AssertionError("unreachable")


def _retryable(status: int) -> bool:
    return status in (401, 408, 409, 425, 429) or status >= 500
