"""A real `quizgen serve` for the tests: a subprocess on 127.0.0.1 with a port the OS
chose, waited for on /api/v1/health, stopped with SIGTERM (and required to exit
cleanly)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

_LISTENING = re.compile(r"serving (https?)://127\.0\.0\.1:(\d+)/")


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=30, **kw)

    def stop(self, sig: int = signal.SIGTERM, expect_clean: bool = True) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("quizgen serve did not stop within 30 s of SIGTERM") from None
        if expect_clean and sig == signal.SIGTERM:
            assert self.proc.returncode == 0, f"serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"
        return self.proc.returncode


def start_server(db: str, tmp: Path, *args: str, env: dict[str, str] | None = None, wait: float = 60) -> Server:
    log = tmp / f"serve-{time.monotonic_ns()}.log"
    handle = open(log, "w")  # noqa: SIM115 - the server process writes it until stop() closes it
    # SQLite: the default key beside the database, as an instructor runs it (local submits and
    # audit find the same key); a server database: one key per test class
    key = [] if "--key-file" in args or "://" not in db else ["--key-file", str(tmp / "receipt.key")]
    proc = subprocess.Popen([sys.executable, "-m", "quizgen", "--db", db, "serve", "--port", "0", "--log-level",
                             "warning", *key, *args], stdout=handle, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    deadline = time.monotonic() + wait
    url = None
    while time.monotonic() < deadline:
        m = _LISTENING.search(log.read_text())
        if m:
            url = f"{m.group(1)}://127.0.0.1:{m.group(2)}"
            break
        if proc.poll() is not None:
            raise AssertionError(f"quizgen serve exited at start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    assert url, f"quizgen serve did not start: {log.read_text()[-2000:]}"
    server = Server(proc, url, log)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2, trust_env=False).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.stop(expect_clean=False)
    raise AssertionError(f"quizgen serve never became healthy: {log.read_text()[-2000:]}")


def bearer(student: str, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {student}:{token}"}
