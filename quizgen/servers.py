"""Server URLs: which ones a token may be sent to, and one spelling for each.

A token goes only to the URL the student gave, so the URL is checked before anything
is sent: http or https, a host, no user name or password in it, no query or fragment.
Plain ``http://`` is refused for any host but this machine's loopback unless the
student says ``--insecure-http``: over plain HTTP anyone on the network path (the
café's Wi-Fi, the campus network) reads the token and can submit as the student.

The canonical spelling (lower-case scheme and host, no default port, no trailing
slash) is the key under which credentials, pinned receipt keys, outbox entries and
receipts are filed, so ``https://Quiz.example.ac.kr:443/`` and
``https://quiz.example.ac.kr`` are one server.

It is a base module because both sides read server URLs: the student's client before
sending a token, and the instructor's commands that hand a URL to students (tokens by
e-mail, printed handouts), which must not point students at a URL their client refuses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from .errors import QuizgenError, clip, one_line
from .resources import Phrase, phrase

API = "/api/v1"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ServerURLError(QuizgenError):
    """A server URL the client will not use (malformed, or plain HTTP to another machine)."""

    exit_code = 2  # it is how the command was called that must change


@dataclass(frozen=True)
class Server:
    """A server the client may talk to."""

    url: str  # canonical: scheme://host[:port][/prefix]
    host: str
    loopback: bool
    secure: bool  # https

    def api(self, *parts: str) -> str:
        """The URL of an API route; every part is percent-encoded (a quiz id cannot add a path)."""
        return self.url + API + "".join("/" + quote(p, safe="") for p in parts)

    def __str__(self) -> str:
        return self.url


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: a name or address that never leaves this machine
    (not ``*.localhost``: not every resolver keeps those off the network)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_server(text: str, option: str = "--server") -> Server:
    """The canonical Server for a URL a student (or, as ``option``, an instructor) typed
    (ServerURLError: why not)."""
    shown = repr(clip(text, 80))
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise ServerURLError(phrase("url_not_url", option=option, url=shown, why=one_line(str(exc), 80))) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ServerURLError(phrase("url_scheme", option=option, url=shown))
    host = (parts.hostname or "").lower()
    if not host:
        raise ServerURLError(phrase("url_no_host", option=option, url=shown))
    if parts.username is not None or parts.password is not None:
        raise ServerURLError(phrase("url_userinfo", option=option, url=shown))
    if parts.query or parts.fragment:
        raise ServerURLError(phrase("url_query", option=option, url=shown))
    if any(ord(c) < 33 or ord(c) == 127 for c in text.strip()) or not text.isascii():
        raise ServerURLError(phrase("url_characters", option=option, url=shown))
    path = parts.path.rstrip("/")
    if path.endswith(API):  # someone pasted the API's own base
        path = path[: -len(API)]
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, _DEFAULT_PORTS[scheme]) else f"{shown_host}:{port}"
    return Server(f"{scheme}://{netloc}{path}", host, is_loopback(host), scheme == "https")


def insecure_reason(server: Server) -> Phrase | None:
    """Why sending a token to this server is unsafe (None: it is safe)."""
    if server.secure or server.loopback:
        return None
    return phrase("url_insecure", url=server.url, host=clip(server.host, 60))


def check_transport(server: Server, insecure_http: bool) -> Phrase | None:
    """Refuse plain HTTP to another machine unless the student accepted it; returns the
    warning to print when they did."""
    reason = insecure_reason(server)
    if reason is None:
        return None
    if not insecure_http:
        raise ServerURLError(phrase("url_refused", reason=reason))
    return phrase("url_warning", reason=reason)


def handed_out_server(text: str, option: str, insecure_http: bool) -> Server:
    """The server an instructor tells students to use (by e-mail, on paper), checked as the
    students' client will check it: plain HTTP to another machine is refused unless the
    instructor accepted it (the client would refuse it too without --insecure-http)."""
    server = parse_server(text, option)
    if not insecure_http and not (server.secure or server.loopback):
        raise ServerURLError(f"{option} {server.url} is plain http to another machine: students' tokens would "
                             "cross the network in clear text, and their quizgen client refuses it; give the "
                             "https:// address, or add --insecure-http if the network is trusted")
    return server
