"""The HTTP calls of docs/api.md, and what each kind of answer means to the client.

Every call ends in one of four ways: data (a 2xx with a JSON object); a final refusal
(``ServerRefused``: quizgen's own refusal, worded in the student's language, or a clear
line naming the status when a 4xx is not quizgen's, e.g. a proxy's page); a failure
worth retrying (``ServerUnavailable``: no connection, the deadline passed, a cut-off
answer, or a 408, 429, 502, 503, 504, with the server's ``Retry-After``); or an answer
that leaves the outcome unknown (``OutcomeUnknown``: a 5xx that is not quizgen's own
JSON refusal, such as a proxy's 500 page; the request may have been stored, so a
submission stays in the outbox for ``sync``, which sends it again under its key).

Each request has one deadline for everything: connecting, sending and reading the
whole answer (a server that trickles a byte at a time cannot stretch it), and every
request of one ``Api`` (one command's conversation with one server) ends within the
policy's budget. When the deadline passes, the connection is shut and the error says
how long was waited.

The token goes only to the URL the student gave: redirects are never followed (a
redirect is reported with its target, for the student to decide), and for plain-HTTP
loopback URLs the proxy variables are ignored (a proxy would read the token in clear).
Answers are read up to a bound, so a hostile or broken server cannot fill memory.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..errors import QuizgenError, clip, one_line
from ..files import MalformedJSON, decode_json
from ..resources import Phrase, phrase
from ..servers import Server
from .credentials import Credentials
from .retry import RetryPolicy, parse_retry_after, retryable

MAX_ANSWER_BYTES = 1_000_000  # far above any quizgen answer (a quiz with 200 questions is ~100 kB)

# quizgen's refusals that the server words in the quiz's language (it knows the quiz);
# every other code the client words itself, in the student's language.
_SERVER_WORDED = frozenset({"quiz_closed", "attempts_exhausted", "not_on_quiz", "invalid_answers", "refused"})
_CLIENT_WORDED = {"unauthorized": "client_unauthorized", "not_found": "client_not_found",
                  "rate_limited": "client_rate_limited", "database_busy": "client_busy",
                  "database_unavailable": "client_busy", "internal": "client_internal"}


class ServerRefused(QuizgenError):
    """A final answer from the server (or what stands in front of it): sending again will not change it."""

    def __init__(self, message: str | Phrase, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class ServerUnavailable(QuizgenError):
    """The server could not be reached, did not answer in time, or asked to be tried
    later; sending again may succeed."""

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, message: str | Phrase, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class OutcomeUnknown(ServerUnavailable):
    """The server (or a proxy) failed in a way that does not say whether the request was
    stored (a 5xx that is not quizgen's own refusal): not retried now, never forgotten."""


@dataclass(frozen=True)
class Reply:
    """A 2xx answer: its status, its JSON object and the headers the client reads."""

    status: int
    data: dict[str, Any]
    replayed: bool  # Idempotent-Replayed: true (the original answer to a resend)


def _quizgen_error(body: bytes) -> tuple[str, str] | None:
    """(code, one line) when the body is quizgen's error JSON."""
    try:
        data = decode_json(body.decode("utf-8"))
        error = data["error"]
        if isinstance(error.get("message"), str) and error["message"].strip() and isinstance(error.get("code"), str):
            return one_line(error["code"], 60), one_line(error["message"], 300)
    except (UnicodeDecodeError, MalformedJSON, KeyError, TypeError, AttributeError):
        pass
    return None


def _not_quizgens(status: int, reason: str, content_type: str, body: bytes) -> Phrase:
    """A line naming an answer that is not quizgen's (a proxy's page, an empty answer)."""
    what = "client_answer_html" if "html" in content_type.lower() else \
        ("client_answer_empty" if not body else "client_answer_other")
    return phrase(what, status=f"{status} {one_line(reason, 60)}".strip())


def _refusal(server: Server, status: int, code: str, said: str, retry_after: float | None, quiz: str) -> Phrase:
    """quizgen's refusal, worded where the client has wording for its code."""
    if code in _SERVER_WORDED:
        return phrase("client_said", said=said)
    if code in _CLIENT_WORDED:
        seconds = f"{retry_after:.0f}" if retry_after is not None else "?"
        return phrase(_CLIENT_WORDED[code], server=server.url, said=said, seconds=seconds, quiz=quiz)
    return phrase("client_refused", server=server.url, status=status, said=said)


class _Deadline:
    """One request's deadline: a timer that shuts the request's sockets when it passes, so
    no read can outlive it however the server paces its bytes (httpx's timeouts are per
    read, and a read that gets one byte starts its timeout again). The sockets come from
    httpcore's ``trace`` extension as each connection is made (no connection is reused:
    the client keeps none alive, so every request's socket passes through here)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.timer = threading.Timer(max(seconds, 0.0), self._expire)
        self.timer.daemon = True

    def __enter__(self) -> _Deadline:
        self.timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.timer.cancel()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if not event.endswith((".connect_tcp.complete", ".connect_unix_socket.complete")):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wake any read or write blocked on the socket (shutdown does; close does not)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed or never connected
        pass


class Api:
    """One student's (or an anonymous) conversation with one server, all of it within
    ``policy.budget`` seconds and each request within ``policy.request_timeout``."""

    def __init__(self, server: Server, credentials: Credentials | None, policy: RetryPolicy,
                 clock: Any = time.monotonic):
        httpx = _httpx()
        self.httpx = httpx
        self.server = server
        self.credentials = credentials
        self.policy = policy
        self.clock = clock
        self.ends = clock() + policy.budget
        self.client = httpx.Client(
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),  # a fresh connection per request: see _Deadline
            verify=True if server.secure else _no_tls(),
            trust_env=server.secure,  # proxies (and their variables) only where TLS hides the token from them
            headers={"User-Agent": f"quizgen/{__version__}", "Accept": "application/json"})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def remaining(self) -> float:
        """Seconds left of this conversation's budget."""
        return self.ends - self.clock()

    def receipt_key(self) -> dict[str, Any]:
        return self.call("GET", ("receipt-key",), auth=False).data

    def quiz(self, quiz: int) -> dict[str, Any]:
        return self.call("GET", ("quizzes", str(quiz))).data

    def submissions(self, quiz: int) -> dict[str, Any]:
        return self.call("GET", ("quizzes", str(quiz), "submissions")).data

    def submit(self, quiz: int, body: bytes, idempotency_key: str) -> Reply:
        return self.call("POST", ("quizzes", str(quiz), "submissions"), body=body,
                         headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"})

    def call(self, method: str, route: tuple[str, ...], body: bytes | None = None,
             headers: Mapping[str, str] | None = None, auth: bool = True,
             params: Mapping[str, str] | None = None) -> Reply:
        httpx = self.httpx
        url = self.server.api(*route)
        sent: dict[str, Any] = dict(headers or {})
        if auth:
            if self.credentials is None or self.credentials.server != self.server:
                raise RuntimeError("credentials for another server")  # a bug: a token goes only to its server
            # UTF-8, as the server reads it: a roster's ids need not be ASCII
            sent["Authorization"] = self.credentials.authorization().encode("utf-8")
        seconds = min(self.policy.request_timeout, self.remaining())
        if seconds <= 0:
            raise ServerUnavailable(phrase("client_out_of_time", server=self.server.url,
                                           seconds=_seconds(self.policy.budget)))
        timed_out = ServerUnavailable(phrase("client_timeout", server=self.server.url, seconds=_seconds(seconds)))
        timeout = httpx.Timeout(seconds, connect=min(self.policy.connect_timeout, seconds))
        deadline = _Deadline(seconds)
        try:
            with deadline, self.client.stream(method, url, content=body, headers=sent, timeout=timeout,
                                              params=dict(params or {}),
                                              extensions={"trace": deadline.trace}) as response:
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if deadline.expired:
                        raise timed_out
                    if len(data) > MAX_ANSWER_BYTES:
                        raise ServerUnavailable(phrase("client_too_large", server=self.server.url,
                                                       kb=f"{MAX_ANSWER_BYTES // 1000:,}"))
        except httpx.TimeoutException:
            raise timed_out from None
        except httpx.ConnectError as exc:
            if deadline.expired:
                raise timed_out from None
            raise ServerUnavailable(phrase("client_connect_failed", server=self.server.url,
                                           reason=_reason(exc))) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError,
                httpx.DecodingError) as exc:
            if deadline.expired:
                raise timed_out from None
            raise ServerUnavailable(phrase("client_broken", server=self.server.url, reason=_reason(exc))) from None
        except httpx.TransportError as exc:  # a proxy failure, anything else on the way
            if deadline.expired:
                raise timed_out from None
            raise ServerUnavailable(phrase("client_unreachable", server=self.server.url,
                                           reason=_reason(exc))) from None
        return self._read(response, bytes(data), route)

    def _read(self, response: Any, body: bytes, route: tuple[str, ...] = ()) -> Reply:
        status = response.status_code
        if 300 <= status < 400:
            target = clip(one_line(response.headers.get("location", "?")), 120)
            raise ServerRefused(phrase("client_redirect", status=status, target=target), status)
        if 200 <= status < 300:
            try:
                data = decode_json(body.decode("utf-8"))
            except (UnicodeDecodeError, MalformedJSON):
                data = None
            if not isinstance(data, dict):
                # it may have been stored: only a resend (same key) can tell, so this is not final
                raise ServerUnavailable(phrase("client_not_json", status=status))
            replayed = response.headers.get("idempotent-replayed", "").lower() == "true" or data.get("replayed") is True
            return Reply(status, data, replayed)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        ours = _quizgen_error(body)
        if ours is None:
            what = _not_quizgens(status, response.reason_phrase or "", response.headers.get("content-type", ""),
                                 body)
            if retryable(status):
                raise ServerUnavailable(what, retry_after)
            if status >= 500:
                raise OutcomeUnknown(what, retry_after)
            raise ServerRefused(what, status)
        code, said = ours
        quiz = route[1] if len(route) > 1 and route[0] == "quizzes" else "?"
        told = _refusal(self.server, status, code, said, retry_after, quiz)
        if retryable(status):
            raise ServerUnavailable(told, retry_after)
        raise ServerRefused(told, status, code)


def _seconds(value: float) -> str:
    """A number of seconds as the messages show it (``20``, ``2.5``)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _httpx() -> Any:
    """httpx, without its own command-line client: httpx imports that (rich and pygments,
    a third of its import time) whenever they happen to be installed, as they are beside
    Keras, and quizgen never runs it. A None in sys.modules makes that optional import
    fail the way httpx expects it may (it then defines a stub); the entry is removed
    afterwards, so an explicit ``import httpx._main`` later still works."""
    import sys

    blocked = "httpx" not in sys.modules and "httpx._main" not in sys.modules
    if blocked:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        if blocked and sys.modules.get("httpx._main", 0) is None:
            del sys.modules["httpx._main"]
    return httpx


def _no_tls() -> Any:
    """The TLS context for a plain-http server: no TLS is ever spoken (redirects are not
    followed), so the CA bundle (~40 ms to load, most of a student command's start-up)
    is not loaded; the context still demands a verified certificate, were it ever used."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


# The causes a student meets, worded; any other is the system's own text.
_ERRNO_REASONS = {errno.ECONNREFUSED: "reason_refused", errno.ECONNRESET: "reason_reset",
                  errno.EPIPE: "reason_reset", errno.ETIMEDOUT: "reason_timed_out",
                  errno.EHOSTUNREACH: "reason_unreachable", errno.ENETUNREACH: "reason_unreachable"}


def _reason(exc: Exception) -> Phrase | str:
    """The cause of a transport error in a few words (an errno's meaning, an SSL complaint)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return phrase("reason_no_such_host")
        if isinstance(cause, OSError) and cause.errno in _ERRNO_REASONS:
            return phrase(_ERRNO_REASONS[cause.errno])
        if isinstance(cause, OSError) and cause.strerror:
            return one_line(cause.strerror, 120).lower()
        cause = cause.__cause__ or cause.__context__
    text = one_line(str(exc) or type(exc).__name__, 160)
    if "disconnected without sending" in text or "peer closed connection" in text:
        return phrase("reason_closed")
    return text
