"""Set-up shared by the LTI tests: a class, the test LMS platform (quizgen's demo/test peer,
quizgen.service.lti_testplatform) on 127.0.0.1, registered with quizgen, and a real
``quizgen serve``; helpers that log in and launch over plain HTTP, as a browser would."""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from quizgen.service.lti_testplatform import TestPlatform

from .helpers import Klass, make_class, right_answers
from .server import Server, start_server

STUDENTS = {"u-minjun": ("김민준", "a@example.ac.kr", "20260001"),
            "u-seoyeon": ("이서연", "b@example.ac.kr", "20260002"),
            "u-jihu": ("박지후", "c@example.ac.kr", "20260003")}
COUNTED = ("lti_nonces", "lti_users", "lti_line_items", "lti_scores", "attempts", "grades")


@dataclass
class Site:
    klass: Klass
    platform: TestPlatform
    server: Server
    tmp: Path

    @property
    def quiz(self) -> int:
        return self.klass.quiz

    def counts(self) -> dict[str, int]:
        return {t: self.klass.count(t) for t in COUNTED}

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(self.klass.db)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def client(self) -> httpx.Client:
        return httpx.Client(trust_env=False, timeout=30, follow_redirects=False)

    def login(self, client: httpx.Client, user: str, hint: str) -> tuple[str, str]:
        """Start a login at the tool as the LMS would send the browser; (state, nonce) from the
        redirect to the platform (the state cookie stays in ``client``)."""
        r = client.get(self.platform.login_url(user, hint))
        assert r.status_code == 302, r.text
        query = parse_qs(urlsplit(r.headers["location"]).query)
        return query["state"][0], query["nonce"][0]

    def launch(self, client: httpx.Client, state: str, token: str) -> httpx.Response:
        return client.post(f"{self.server.url}/lti/launch", data={"id_token": token, "state": state})

    def launch_as(self, client: httpx.Client, user: str, hint: str, **changes: Any) -> httpx.Response:
        """A whole login and launch, the id_token's claims changed (None removes one)."""
        state, nonce = self.login(client, user, hint)
        claims = self.platform.claims(user, hint, nonce)
        for k, v in changes.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return self.launch(client, state, self.platform.sign(claims))

    def answers(self, student: str) -> dict[str, str]:
        return {f"a:{k}": v for k, v in right_answers(self.klass.key(student)).items()}

    def submit(self, client: httpx.Client, page: str, answers: dict[str, str]) -> httpx.Response:
        form = hidden(page)
        return client.post(f"{self.server.url}/lti/submit", data={**form, **answers},
                           headers={"Sec-Fetch-Site": "same-origin"})

    def wait_for_scores(self, count: int, timeout: float = 60) -> list[tuple[int, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.platform.scores) >= count:
                return list(self.platform.scores)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.platform.scores)} score(s) reached the platform, expected {count}: "
                             f"{self.server.log.read_text()[-2000:]}")

    def wait_for(self, query: str, expected: list[tuple[Any, ...]], timeout: float = 30) -> None:
        """Until ``query`` returns ``expected`` (the sender records what it sent after sending)."""
        deadline = time.monotonic() + timeout
        while self.sql(query) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.sql(query) == expected

    def stop(self) -> None:
        self.server.stop()
        self.platform.stop()


def hidden(page: str) -> dict[str, str]:
    """The hidden fields of the first form on a page."""
    import html

    return {m.group(1): html.unescape(m.group(2))
            for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def make_site(tmp: Path, *generate: str, match: str = "student-id", link_quiz: bool = True) -> Site:
    klass = make_class(tmp, *generate)
    platform = TestPlatform().serve()
    for sub, (name, email, sid) in STUDENTS.items():
        platform.add_user(sub, name, email, sid)
    platform.add_user("u-teacher", "김교수", "prof@example.ac.kr", None, instructor=True)
    if link_quiz:
        platform.add_link("link-1", "점검 퀴즈", klass.quiz, score_maximum=10)
    out = klass.run(*platform.add_platform_args(match=match))
    assert out.exit_code == 0, out.output
    server = start_server(str(klass.db), tmp)
    platform.tool_url = server.url
    return Site(klass, platform, server, tmp)
