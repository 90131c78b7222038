"""When to send a submission again, and how long to wait first.

Only what may succeed on a second try is retried: a connection that failed or was cut,
a request whose deadline passed, and the statuses a busy server or proxy gives (408,
429, 502, 503, 504). A 4xx is final: it is the client's fault and will not change (409
here means the quiz is closed or the attempts are spent). Any other 5xx is not retried
now (a server bug does not go away in seconds), but unless it is quizgen's own refusal
it does not say whether the submission was stored, so the submission stays in the
outbox for ``quizgen sync``. Retrying is safe because every try carries the
submission's one Idempotency-Key: the server stores it once and answers a resend with
the original.

Waits grow exponentially with full jitter (AWS's "exponential backoff and jitter": a
uniform draw between 0 and the capped exponential), so a class whose submissions all
failed at once does not come back at once; a server's ``Retry-After`` (seconds or an
HTTP date) is a floor. The whole journey is bounded by a number of tries and a time
budget: each request has one deadline for connecting, sending and reading its whole
answer (``request_timeout``), no request outlives the budget, and a wait that would
end past the budget is not started. So a command that talks to one server is done
with it within ``budget`` seconds, whatever the server does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({408, 429, 502, 503, 504})
MAX_RETRY_AFTER = 24 * 3600.0  # a longer Retry-After is nonsense; treat it as "not today"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one command tries to deliver a submission before leaving it in the outbox."""

    tries: int = 5  # sends in all (1: no retries)
    base: float = 1.0  # seconds: the cap of the first wait
    cap: float = 10.0  # seconds: no single jittered wait is drawn above this
    budget: float = 30.0  # seconds for everything one command says to one server: requests and waits
    request_timeout: float = 20.0  # one request, connecting to the last byte (a graded submission takes < 1 s)
    connect_timeout: float = 5.0  # of which connecting (TCP and TLS)

    def backoff(self, failures: int, rng: random.Random) -> float:
        """The jittered wait after the ``failures``-th failure (1, 2, ...): uniform in
        [0, min(cap, base * 2**(failures-1))]."""
        return rng.uniform(0.0, self.ceiling(failures))

    def ceiling(self, failures: int) -> float:
        """The upper bound of the wait after the ``failures``-th failure."""
        return min(self.cap, self.base * 2.0 ** min(max(failures - 1, 0), 60))


NO_RETRIES = RetryPolicy(tries=1)


def retryable(status: int) -> bool:
    return status in RETRYABLE_STATUS


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date
    (RFC 9110 §10.2.3); None when absent or unreadable, 0 for a date in the past."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(int(text)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def next_wait(policy: RetryPolicy, failures: int, retry_after: float | None, rng: random.Random) -> float:
    """How long to wait before the next try: the jittered backoff, but never less than
    what the server asked for."""
    wait = policy.backoff(failures, rng)
    return max(wait, retry_after) if retry_after is not None else wait
