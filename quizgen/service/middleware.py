"""ASGI middleware: a request body limit enforced while the body streams in (not only
from Content-Length, which a client may leave out), and the security headers every
response carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .errors import ApiError, error_response

# ASGI's types, as Starlette spells them
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# The first two go on every response; an LTI page (service.lti_views) replaces the last two
# with a policy that lets its LMS frame it.
# No script may run on any page (there is no script-src, so default-src 'none' forbids
# them all); the only thing a page loads is the Hangul font from this server; forms
# post only here; nothing may frame a page.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; form-action 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
]
NO_STORE = (b"cache-control", b"no-store")  # unless the route said otherwise (the font)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answers 413 to a request whose body is (or turns out to be) larger than ``limit`` bytes."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = error_response(ApiError(413, "payload_too_large", f"the request body is larger than "
                                            f"{self.limit // 1024} KiB; that is not a quiz submission"))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit or declared < 0:
                    await too_large(scope, receive, send)
                    return
        received = 0
        started = False

        async def limited() -> MutableMapping[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, and ``Cache-Control: no-store`` to
    every one that does not set its own (pages hold the token in their forms)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", [])
                # An LTI page states its own policy (framed by its LMS): no stricter one, no X-Frame-Options
                framed = any(name.lower() == b"content-security-policy" for name, _ in own)
                headers = [*own, *(SECURITY_HEADERS[:2] if framed else SECURITY_HEADERS)]
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
