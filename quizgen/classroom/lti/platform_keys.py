"""The LMSs' public keys (their JWKS), fetched when first needed and kept in memory; a
launch signed with a key id the cached set lacks fetches the set once more (the LMS
rotated its key), at most once a second per set, so a stream of made-up key ids cannot
make quizgen hammer the LMS."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from ...errors import clip
from .refusals import LaunchRefused

MIN_REFETCH_S = 1.0
FETCH_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class _KeySet:
    fetched: float  # time.monotonic()
    keys: dict[str | None, Any]  # kid → public key (None: the set's only key, when it has no kid)


class PlatformKeys:
    """A process's cache of platforms' JWKS, by URL."""

    def __init__(self, min_refetch_s: float = MIN_REFETCH_S):
        self.min_refetch_s = min_refetch_s
        self._sets: dict[str, _KeySet] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, url: str, kid: str | None) -> Any:
        """The public key ``kid`` names in the set at ``url``; LaunchRefused("unknown_key") when
        the set, fetched again if it was not fetched just now, still lacks it."""
        found = self._sets.get(url)
        if found is None:
            found = self._fetch(url)
        if kid in found.keys:
            return found.keys[kid]
        if time.monotonic() - found.fetched >= self.min_refetch_s:
            found = self._fetch(url)
            if kid in found.keys:
                return found.keys[kid]
        raise LaunchRefused("unknown_key", f"the platform's key set at {clip(url, 80)} has no key {clip(str(kid), 40)}")

    def _fetch(self, url: str) -> _KeySet:
        try:
            response = httpx.get(url, timeout=FETCH_TIMEOUT_S, follow_redirects=False, trust_env=False)
            response.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            raise LaunchRefused("keys_unreachable", f"cannot read the platform's key set at {clip(url, 80)}: "
                                f"{clip(str(exc), 120)}") from None
        keys: dict[str | None, Any] = {k.key_id: k.key for k in jwks.keys if k.key_type == "RSA"}
        if len(jwks.keys) == 1 and None not in keys:
            keys[None] = jwks.keys[0].key
        found = _KeySet(time.monotonic(), keys)
        with self._lock:
            self._sets[url] = found
            self.fetches += 1
        return found
