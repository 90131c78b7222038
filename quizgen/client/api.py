"""The HTTP calls of docs/api.md, and what each kind of answer means to the client.

Every call ends in one of three ways: data (a 2xx with a JSON object), a final refusal
(``ServerRefused``: the server's one-line message, or a clear line naming the status
when the answer is not quizgen's, e.g. a proxy's HTML page), or a failure worth
retrying (``ServerUnavailable``: no connection, a timeout, a cut-off answer, or a 408,
429, 502, 503, 504, with the server's ``Retry-After``).

The token goes only to the URL the student gave: redirects are never followed (a
redirect is reported with its target, for the student to decide), and for plain-HTTP
loopback URLs the proxy variables are ignored (a proxy would read the token in clear).
Answers are read up to a bound, so a hostile or broken server cannot fill memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..errors import QuizgenError, clip, one_line
from ..files import MalformedJSON, decode_json
from ..servers import Server
from .credentials import Credentials
from .retry import RetryPolicy, parse_retry_after, retryable

MAX_ANSWER_BYTES = 1_000_000  # far above any quizgen answer (a quiz with 200 questions is ~100 kB)


class ServerRefused(QuizgenError):
    """A final answer from the server (or what stands in front of it): sending again will not change it."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class ServerUnavailable(QuizgenError):
    """The server could not be reached or asked to be tried later; sending again may succeed."""

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Reply:
    """A 2xx answer: its status, its JSON object and the headers the client reads."""

    status: int
    data: dict[str, Any]
    replayed: bool  # Idempotent-Replayed: true (the original answer to a resend)


def _error_text(status: int, reason: str, content_type: str, body: bytes) -> tuple[str | None, str]:
    """(code, one line) for an error answer: the server's own message when it sent
    quizgen's error JSON, else a line naming the status."""
    try:
        data = decode_json(body.decode("utf-8"))
        error = data["error"]
        if isinstance(error.get("message"), str) and error["message"].strip():
            code = error.get("code") if isinstance(error.get("code"), str) else None
            return code, one_line(error["message"], 300)
    except (UnicodeDecodeError, MalformedJSON, KeyError, TypeError, AttributeError):
        pass
    what = "an HTML page (a proxy or web server in front of quizgen?)" if "html" in content_type.lower() \
        else ("an empty answer" if not body else "an answer that is not quizgen's error message")
    named = f"{status} {one_line(reason, 60)}".strip()
    return None, f"the server answered {named} with {what}"


class Api:
    """One student's (or an anonymous) conversation with one server."""

    def __init__(self, server: Server, credentials: Credentials | None, policy: RetryPolicy):
        httpx = _httpx()
        self.httpx = httpx
        self.server = server
        self.credentials = credentials
        self.client = httpx.Client(
            timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
            follow_redirects=False,
            verify=True if server.secure else _no_tls(),
            trust_env=server.secure,  # proxies (and their variables) only where TLS hides the token from them
            headers={"User-Agent": f"quizgen/{__version__}", "Accept": "application/json"})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

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
             headers: Mapping[str, str] | None = None, auth: bool = True) -> Reply:
        httpx = self.httpx
        url = self.server.api(*route)
        sent: dict[str, Any] = dict(headers or {})
        if auth:
            if self.credentials is None or self.credentials.server != self.server:
                raise RuntimeError("credentials for another server")  # a bug: a token goes only to its server
            # UTF-8, as the server reads it: a roster's ids need not be ASCII
            sent["Authorization"] = self.credentials.authorization().encode("utf-8")
        try:
            with self.client.stream(method, url, content=body, headers=sent) as response:
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        raise ServerUnavailable(f"{self.server} sent an answer larger than "
                                                f"{MAX_ANSWER_BYTES // 1000:,} kB; that is not quizgen's")
        except httpx.TimeoutException:
            raise ServerUnavailable(f"{self.server} did not answer in time") from None
        except httpx.ConnectError as exc:
            raise ServerUnavailable(f"could not connect to {self.server} ({_reason(exc)})") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError,
                httpx.DecodingError) as exc:
            raise ServerUnavailable(f"the connection to {self.server} broke before its answer arrived "
                                    f"({_reason(exc)})") from None
        except httpx.TransportError as exc:  # a proxy failure, anything else on the way
            raise ServerUnavailable(f"could not reach {self.server} ({_reason(exc)})") from None
        return self._read(response, bytes(data))

    def _read(self, response: Any, body: bytes) -> Reply:
        status = response.status_code
        if 300 <= status < 400:
            target = clip(response.headers.get("location", "?"), 120)
            raise ServerRefused(f"the server answered {status} with a redirect to {target}; quizgen never follows "
                                "redirects (your token goes only to the URL you gave): if that is the quiz server, "
                                "give its address with --server", status)
        if 200 <= status < 300:
            try:
                data = decode_json(body.decode("utf-8"))
            except (UnicodeDecodeError, MalformedJSON):
                data = None
            if not isinstance(data, dict):
                # it may have been stored: only a resend (same key) can tell, so this is not final
                raise ServerUnavailable(f"the server answered {status} but its answer is not quizgen's JSON")
            replayed = response.headers.get("idempotent-replayed", "").lower() == "true" or data.get("replayed") is True
            return Reply(status, data, replayed)
        code, message = _error_text(status, response.reason_phrase or "", response.headers.get("content-type", ""),
                                    body)
        if retryable(status):
            raise ServerUnavailable(message, parse_retry_after(response.headers.get("retry-after")))
        raise ServerRefused(message, status, code)


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


def _reason(exc: Exception) -> str:
    """The cause of a transport error in a few words (an errno's text, an SSL complaint)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return one_line(cause.strerror, 120).lower()
        cause = cause.__cause__ or cause.__context__
    return one_line(str(exc) or type(exc).__name__, 160)
