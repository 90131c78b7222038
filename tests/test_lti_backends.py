"""The LTI library on SQLite and PostgreSQL, in-process against the test LMS platform: a
launch records its nonce, user and column (a replay is refused with nothing written), the
graded submission queues one score, the sender delivers it and a second round sends
nothing; the queue keeps one row per student and column."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from quizgen.classroom.attempts import RateLimit
from quizgen.classroom.lti import launch as launches
from quizgen.classroom.lti.keys import load_keys
from quizgen.classroom.lti.passback import send_all
from quizgen.classroom.lti.platform_keys import PlatformKeys
from quizgen.classroom.lti.refusals import LaunchRefused
from quizgen.classroom.lti.services import LmsClient
from quizgen.classroom.lti.student_pages import launched_submit
from quizgen.receipts import Signer
from quizgen.service.lti_testplatform import TestPlatform
from quizgen.store.db import open_store

from .helpers import make_class, right_answers

TOOL = "http://127.0.0.1:9/quizgen"  # never contacted: the launch URL the tool names


@pytest.fixture
def platform():
    made = TestPlatform(tool_url=TOOL).serve()
    made.add_user("u-minjun", "김민준", "a@example.ac.kr", "20260001")
    yield made
    made.stop()


def test_launch_submit_and_send_on_each_backend(db_url, tmp_path, platform):
    klass = make_class(tmp_path, db=db_url)
    platform.add_link("link-1", "점검 퀴즈", klass.quiz, score_maximum=9)
    assert klass.run(*platform.add_platform_args()).exit_code == 0
    keys = load_keys(str(tmp_path / "lti.key"))
    platform.tool_jwks = keys.jwks()
    store = open_store(str(klass.db) if "://" not in str(klass.db) else klass.db, create=False)
    cache, client = PlatformKeys(), LmsClient()
    try:
        def login() -> tuple[dict[str, str], str]:
            params = parse_qs(urlsplit(platform.login_url("u-minjun", "link-1")).query)
            made = launches.begin_login(store, keys, {k: v[0] for k, v in params.items()}, f"{TOOL}/lti/launch")
            query = parse_qs(urlsplit(made.url).query)
            return {made.cookie_name: made.cookie_value}, query["state"][0] + " " + query["nonce"][0]

        cookies, both = login()
        state, nonce = both.split()
        form = {"state": state, "id_token": platform.sign(platform.claims("u-minjun", "link-1", nonce))}
        result = launches.launch(store, keys, cache, form, cookies)
        assert isinstance(result, launches.StudentLaunch) and result.student == "20260001"
        counts = {t: klass.count(t) for t in ("lti_nonces", "lti_users", "lti_line_items", "lti_scores")}
        assert counts == {"lti_nonces": 1, "lti_users": 1, "lti_line_items": 1, "lti_scores": 0}
        with pytest.raises(LaunchRefused) as refused:
            launches.launch(store, keys, cache, form, cookies)
        assert refused.value.reason == "replayed"
        assert {t: klass.count(t) for t in counts} == counts

        answers = right_answers(klass.key("20260001"))
        for n in range(2):  # two graded attempts: still one queued score, the latest
            launched_submit(store, keys, result.credential, "20260001", answers, idempotency_key=f"k{n}",
                            signer=Signer(b"\x01" * 32), rate_limit=RateLimit())
        assert klass.count("lti_scores") == 1
        report = send_all(store, keys, client)
        assert (report.sent, report.failed) == (1, 0)
        assert send_all(store, keys, client).sent == 0
        [(item, body)] = platform.scores
        assert body["userId"] == "u-minjun" and body["scoreGiven"] == body["scoreMaximum"] > 0
    finally:
        client.close()
        store.dispose()


def test_lms_users_are_matched_by_the_platforms_rule(tmp_path):
    from quizgen.classroom.lti.launch import match_student

    klass = make_class(tmp_path)
    store = open_store(str(klass.db), create=False)
    try:
        with store.write() as session:
            def who(rule, sourcedid=None, email=None):
                found = match_student(session, rule, "sub-1", sourcedid, email)
                return found.external_id if found else None

            assert who("student-id", sourcedid="20260002") == "20260002"
            assert who("student-id", email="b@example.ac.kr") is None  # the rule is the id, not the e-mail
            assert who("email", email="B@Example.AC.KR") == "20260002"  # e-mail case does not matter
            assert who("email", sourcedid="20260002") is None
            assert who("sub", sourcedid="20260002", email="b@example.ac.kr") is None  # only a link made before
            from quizgen.store.tables import Student

            session.get(Student, 1).email = "b@example.ac.kr"  # two students with one e-mail: neither
            assert who("email", email="b@example.ac.kr") is None
            session.rollback()
    finally:
        store.dispose()
