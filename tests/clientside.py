"""Shared set-up for the student's-client tests: a private home (XDG folders in tmp_path),
real Ed25519 receipts, and network faults on 127.0.0.1.

The faults are real sockets, never a stand-in for quizgen: ``Listener`` reads requests
and then holds or drops the connection without ever answering (a dead network path);
``Proxy`` sits in front of a real ``quizgen serve`` and cuts connections or holds them
back, passing on only what the real server said.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from quizgen.client.receipts import answers_sha256
from quizgen.receipts import signed_bytes

QUIET = {"QUIZGEN_TOKEN", "QUIZGEN_SERVER", "QUIZGEN_DB"}


@dataclass
class Home:
    """A student's machine: its config and data folders."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def outbox(self) -> Path:
        return self.data / "quizgen" / "outbox"

    @property
    def receipts(self) -> Path:
        return self.data / "quizgen" / "receipts"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a subprocess run on this machine."""
        env = {k: v for k, v in os.environ.items() if k not in QUIET}
        return {**env, "XDG_CONFIG_HOME": str(self.config), "XDG_DATA_HOME": str(self.data), **extra}

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file())

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.outbox.glob("*.json"))]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    """XDG folders in tmp_path for this process (CliRunner and library calls) and its children."""
    h = Home(tmp_path / "home")
    h.root.mkdir()
    for name in QUIET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(h.config))
    monkeypatch.setenv("XDG_DATA_HOME", str(h.data))
    return h


# --- receipts, signed for real -----------------------------------------------------------

def new_key():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def public_json(private: Any, key_id: str) -> dict[str, str]:
    """A key as ``GET /api/v1/receipt-key`` gives it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"key_id": key_id, "algorithm": "ed25519", "public_key": base64.b64encode(raw).decode()}


def signed(private: Any, key_id: str, **fields: Any) -> dict[str, Any]:
    """A receipt as docs/api.md defines it, signed with ``private``."""
    answers = fields.pop("answers", {"1": "529,441"})
    receipt = {"v": 2, "quiz": 3, "student": "20260001", "attempt": 1, "source": "http",
               "received_at": "2026-11-29T12:00:01.250000+00:00", "answers_sha256": answers_sha256(answers),
               "leaf_hash": "ab" * 32, "integrate_by": "2026-11-29T12:01:01.250000+00:00", "request": None,
               "key_id": key_id, **fields}
    return {**receipt, "signature": base64.b64encode(private.sign(signed_bytes(receipt))).decode()}


# --- network faults ----------------------------------------------------------------------

def read_request(conn: socket.socket) -> dict[str, Any] | None:
    """One HTTP/1.1 request off a socket: method, path, lower-cased headers, body (None: closed first)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return {"method": method, "path": path, "headers": headers, "body": body, "raw": head + b"\r\n\r\n" + body}


def _listening(backlog: int) -> tuple[socket.socket, int, str]:
    """A socket listening on 127.0.0.1 at a port the OS chose: (socket, port, URL)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    port = sock.getsockname()[1]
    return sock, port, f"http://127.0.0.1:{port}"


@dataclass
class Listener:
    """A dead network path on 127.0.0.1: accepts, reads each request, then drops the
    connection (``hold=False``) or keeps it open unanswered (``hold=True``). It never answers."""

    hold: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock, self.port, self.url = _listening(16)
        self.held: list[socket.socket] = []
        self.arrived = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            request = read_request(conn)
            if request is not None:
                self.requests.append(request)
                self.arrived.set()
            if self.hold:
                self.held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def listener():
    made: list[Listener] = []

    def make(hold: bool = False) -> Listener:
        made.append(Listener(hold))
        return made[-1]

    yield make
    for item in made:
        item.close()


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of a real server. Per request (in order of arrival)
    ``decide(n, request)`` says what happens: "pass" (forward, return the real answer),
    "cut" (forward, read the real answer, then close the client's connection without it:
    the server committed, the client never heard), "page500" (forward, then answer with a
    proxy's 500 HTML page instead of the real answer: the server committed, the client is
    told an error), "drop" (close before forwarding) or "hold" (keep the client waiting;
    nothing forwarded)."""

    def __init__(self, upstream_port: int, decide: Callable[[int, dict[str, Any]], str]):
        self.upstream = upstream_port
        self.decide = decide
        self.seen: list[tuple[str, dict[str, Any], bytes | None]] = []  # (action, request, server's answer)
        self.sock, self.port, self.url = _listening(64)
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        while True:  # keep-alive: one request at a time on this connection
            request = read_request(conn)
            if request is None:
                conn.close()
                return
            with self.lock:
                action = self.decide(len(self.seen), request)
                self.seen.append((action, request, None))
                n = len(self.seen) - 1
            if action == "hold":
                self.held.append(conn)
                return
            if action == "drop":
                conn.close()
                return
            answer = self._forward(request["raw"])
            with self.lock:
                self.seen[n] = (action, request, answer)
            if action == "cut" or answer is None:
                conn.close()
                return
            if action == "page500":
                conn.sendall(http_answer(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>",
                                         "text/html"))
                conn.close()
                return
            conn.sendall(answer)

    def _forward(self, raw: bytes) -> bytes | None:
        """The real server's whole answer to one request (Content-Length framed)."""
        with socket.create_connection(("127.0.0.1", self.upstream), timeout=30) as up:
            up.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = up.recv(65536)
                if not chunk:
                    return None
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:])}
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                chunk = up.recv(65536)
                if not chunk:
                    return None
                body += chunk
            return head + b"\r\n\r\n" + body

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


# --- a hand-written server: what quizgen's client meets when a server misbehaves -----------

def http_answer(status: int, body: Any = b"", content_type: str = "application/json",
                headers: dict[str, str] | None = None, reason: str = "") -> bytes:
    """A whole HTTP/1.1 answer (Content-Length framed, the connection closed after it)."""
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Whatever')}", f"Content-Type: {content_type}",
             f"Content-Length: {len(data)}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


_REASONS = {200: "OK", 201: "Created", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}


def quiz_answer(quiz: int = 3, title: str = "점검 퀴즈", language: str = "ko", prompt: str = "문제",
                slots: int = 2, label: str = "층 1의 출력 크기", parts: bool = True, **info: Any) -> dict[str, Any]:
    """``GET /api/v1/quizzes/{quiz}`` as quizgen answers it: ``slots`` questions, the last
    of two parts (``parts``) or all single answers."""
    questions = [{"slot": n, "kind": "total-params", "points": 1, "prompt": prompt, "response": {"type": "count"}}
                 for n in range(1, slots + (not parts))]
    if parts:
        questions.append({"slot": slots, "kind": "summary", "points": 2, "prompt": prompt, "response": {
            "type": "parts", "parts": [{"key": "L1.shape", "type": "shape", "label": {language: label, "en": label}},
                                       {"key": "L1.params", "type": "count",
                                        "label": {language: label, "en": label}}]}})
    return {"quiz": {"id": quiz, "title": title, "language": language, "deadline": "2099-01-01T00:00:00+00:00",
                     "deadline_local": "2099-01-01 09:00 +09:00 (Asia/Seoul)", "time_zone": "Asia/Seoul",
                     "late_until": None, "attempt_limit": 3, "attempts_used": 0, "attempts_left": 3,
                     "feedback": "full", "counting": "last", "open": True, **info},
            "student": "20260001", "server_time": "2026-11-29T12:00:00+00:00", "questions": questions}


class Scripted:
    """A server on 127.0.0.1 whose every answer the test writes: ``answer(request)`` returns
    the bytes to send (then the connection is closed), None to hold the connection
    unanswered, or a function that is given the socket and writes what it likes (a
    trickle). Unlike Proxy, there is no quizgen behind it: it is the hostile or broken
    server itself."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any]):
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.sock, self.port, self.url = _listening(32)
        self.held: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            request = read_request(conn)
            if request is None:
                conn.close()
                return
            self.requests.append(request)
            what = self.answer(request)
            if what is None:
                self.held.append(conn)
                return
            if callable(what):
                what(conn, self.closed)
            elif what == b"drop":
                pass
            else:
                conn.sendall(what)
            conn.close()
        except OSError:  # the client went away
            conn.close()

    def paths(self, method: str | None = None) -> list[str]:
        return [r["path"] for r in self.requests if method is None or r["method"] == method]

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
        for conn in self.held:
            conn.close()


class Trickle:
    """An answer whose head promises ``Content-Length: 100000`` and whose body then comes a
    byte every ``every`` seconds (14 hours in all): each read gets a byte, so a timeout
    per read never fires. ``hung_up`` counts the answers the client walked away from."""

    def __init__(self, every: float = 0.5):
        self.every = every
        self.hung_up = 0
        self.head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
                     b"Connection: close\r\n\r\n")

    def __call__(self, conn: socket.socket, closed: threading.Event) -> None:
        try:
            conn.sendall(self.head)
            while not closed.wait(self.every):
                conn.sendall(b"{")
        except OSError:  # the client shut the connection: it stopped waiting
            self.hung_up += 1


@pytest.fixture
def scripted():
    made: list[Scripted] = []

    def make(answer: Callable[[dict[str, Any]], Any]) -> Scripted:
        made.append(Scripted(answer))
        return made[-1]

    yield make
    for item in made:
        item.close()
