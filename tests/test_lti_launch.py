"""LTI 1.3 login and launch against a real ``quizgen serve`` and the test LMS platform:
a student launches, submits inside the frame with the launch's credential (never their
token) and the score reaches the platform; every refusal the security framework requires
is one sentence on a page and one log line, with nothing written."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from .lti_site import hidden, make_site

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    made = make_site(tmp_path_factory.mktemp("lti"))
    yield made
    made.stop()


def test_a_student_launches_submits_and_the_score_reaches_the_lms(site):
    with site.client() as client:
        r = site.launch_as(client, "u-minjun", "link-1")
        assert r.status_code == 200, r.text
        assert "frame-ancestors 'self' " + site.platform.url in r.headers["content-security-policy"]
        assert "x-frame-options" not in r.headers
        form = hidden(r.text)
        assert form["student"] == "20260001" and form["quiz"] == str(site.quiz)
        token = site.klass.tokens["20260001"]
        assert token not in r.text and form["token"] != token  # a short-lived credential, not the token
        done = site.submit(client, r.text, site.answers("20260001"))
        assert done.status_code == 200, done.text
        assert "20260001" in done.text
    scores = site.wait_for_scores(1)
    item, body = scores[0]
    received = site.sql("SELECT received_at FROM attempts WHERE quiz_id = ?", site.quiz)[0][0]
    assert body["userId"] == "u-minjun" and body["scoreGiven"] == body["scoreMaximum"] > 0
    assert body["activityProgress"] == "Submitted" and body["gradingProgress"] == "FullyGraded"
    assert body["timestamp"][:19] == received.replace(" ", "T")[:19]  # the attempt's arrival, not the send
    assert item == site.platform.links["link-1"].line_item
    # the token was asked for once, with an assertion signed by the key quizgen publishes
    assert len(site.platform.token_requests) == 1
    site.wait_for("SELECT sent_revision = revision FROM lti_scores", [(1,)])


def test_a_forged_credential_is_refused_and_nothing_is_recorded(site):
    with site.client() as client:
        page = site.launch_as(client, "u-seoyeon", "link-1").text
        before = site.counts()
        forged = {**hidden(page), "token": hidden(page)["token"][:-4] + "AAAA"}
        r = client.post(f"{site.server.url}/lti/submit", data={**forged, **site.answers("20260002")},
                        headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 403 and "유효 시간" in r.text  # the quiz's page speaks the browser's Korean
        # another student's id beside this student's credential is refused, not recorded for either
        other = {**hidden(page), "student": "20260001"}
        assert hidden(page)["student"] == "20260002"
        r = client.post(f"{site.server.url}/lti/submit", data={**other, **site.answers("20260001")},
                        headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 403
        assert site.counts() == before


def _wrong_key_signature(site, claims):
    from quizgen.service.lti_testplatform import _signer

    impostor = _signer()
    impostor.kid = site.platform.signing.kid  # claims to be the platform's key
    return site.platform.sign(claims, impostor)


REFUSALS = {
    "bad_nonce": "nonce",
    "bad_signature": "signature",
    "wrong_audience": "aud",
    "expired": "exp",
    "unknown_deployment": "deployment",
    "deep_linking_student": "deep-link",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_launch_writes_nothing_and_logs_one_line(site, case):
    with site.client() as client:
        hint = "deep-link" if case == "deep_linking_student" else "link-1"
        state, nonce = site.login(client, "u-jihu", hint)
        claims = site.platform.claims("u-jihu", hint, nonce)
        if case == "wrong_audience":
            claims["aud"] = "another-tool"
            claims["azp"] = "another-tool"
        if case == "expired":
            claims["iat"], claims["exp"] = int(time.time()) - 900, int(time.time()) - 600
        if case == "bad_nonce":
            claims["nonce"] = "a-nonce-this-login-never-sent"
        if case == "unknown_deployment":
            claims[LTI + "deployment_id"] = "deployment-999"
        token = _wrong_key_signature(site, claims) if case == "bad_signature" else site.platform.sign(claims)
        before = site.counts()
        r = site.launch(client, state, token)
    assert r.status_code == 403, r.text
    assert len(re.findall(r'role="alert"><p>[^<]+</p>', r.text)) == 1
    assert site.counts() == before
    assert f"refused ({case})" in site.server.log.read_text()


def test_a_replayed_launch_is_refused_with_nothing_written(site):
    with site.client() as client:
        state, nonce = site.login(client, "u-jihu", "link-1")
        token = site.platform.sign(site.platform.claims("u-jihu", "link-1", nonce))
        assert site.launch(client, state, token).status_code == 200
        before = site.counts()
        again = site.launch(client, state, token)
    assert again.status_code == 403 and site.counts() == before
    assert "refused (replayed)" in site.server.log.read_text()


def test_a_state_from_another_browser_is_refused(site):
    with site.client() as mine, site.client() as theirs, site.client() as fresh:
        state, nonce = site.login(mine, "u-jihu", "link-1")
        [(name, _)] = mine.cookies.items()
        site.login(theirs, "u-jihu", "link-1")  # the other browser's login has a cookie value of its own
        [(_, their_value)] = theirs.cookies.items()
        token = site.platform.sign(site.platform.claims("u-jihu", "link-1", nonce))
        before = site.counts()
        fresh.cookies.set(name, their_value)
        r = site.launch(fresh, state, token)  # my state, their browser's cookie value
        tampered = site.launch(mine, state[:-3] + "AAA", token)
    assert r.status_code == 403 and tampered.status_code == 403 and site.counts() == before
    assert "refused (bad_state)" in site.server.log.read_text()


def test_without_the_state_cookie_the_student_is_offered_a_new_window(site):
    with site.client() as client:
        state, nonce = site.login(client, "u-jihu", "link-1")
        client.cookies.clear()  # what a browser blocking the frame's cookie sends back
        before = site.counts()
        r = site.launch(client, state, site.platform.sign(site.platform.claims("u-jihu", "link-1", nonce)))
    assert r.status_code == 200 and 'target="_blank"' in r.text and "login?iss=" in r.text
    assert site.counts() == before


def test_an_unknown_kid_is_refetched_once_and_then_refused(site):
    time.sleep(1.1)  # the cache refetches at most once a second
    with site.client() as client:
        rotated = site.platform.rotate_key(publish_new=True)  # the LMS rotated: the new kid is fetched
        fetches = site.platform.jwks_fetches
        assert site.launch_as(client, "u-jihu", "link-1").status_code == 200
        assert site.platform.jwks_fetches == fetches + 1
        time.sleep(1.1)
        site.platform.rotate_key(publish_new=False)  # a key the LMS never published
        before = site.counts()
        r = site.launch_as(client, "u-jihu", "link-1")
        again = site.launch_as(client, "u-jihu", "link-1")  # at once: the set is not fetched again
    assert r.status_code == 403 and again.status_code == 403 and site.counts() == before
    assert site.platform.jwks_fetches == fetches + 2  # refetched once for it, then refused, once
    assert "refused (unknown_key)" in site.server.log.read_text()
    site.platform.signing = rotated


def test_a_student_credential_cannot_make_a_deep_linking_response(site):
    with site.client() as client:
        page = site.launch_as(client, "u-minjun", "link-1").text
        credential = hidden(page)["token"]
        r = client.post(f"{site.server.url}/lti/deep-link", data={"credential": credential, "quiz": str(site.quiz)})
    assert r.status_code == 403 and "JWT" not in r.text
    assert "refused (deep_linking_student)" in site.server.log.read_text()


def test_an_unmatched_student_sees_why_and_the_instructor_sees_who(site):
    site.platform.add_user("u-stranger", "낯선 학생", "x@example.ac.kr", "20269999")
    with site.client() as client:
        r = site.launch_as(client, "u-stranger", "link-1")
    assert r.status_code == 403 and "lti unmatched" in r.text
    out = site.klass.run("lti", "unmatched", "--json")
    assert [u["sub"] for u in __import__("json").loads(out.stdout)] == ["u-stranger"]


def test_an_instructor_launch_shows_progress_not_a_quiz(site):
    with site.client() as client:
        r = site.launch_as(client, "u-teacher", "link-1")
    assert r.status_code == 200 and 'name="token"' not in r.text
    assert "20260001" in r.text and "김민준" in r.text


def test_the_login_may_be_posted_and_an_unknown_platform_is_refused(site):
    with site.client() as client:
        params = dict(parse_qsl(urlsplit(site.platform.login_url("u-minjun", "link-1")).query))
        r = client.post(f"{site.server.url}/lti/login", data=params)
        assert r.status_code == 302 and r.headers["location"].startswith(f"{site.platform.url}/auth?")
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Path=/lti/" in cookie and "Max-Age=600" in cookie
        before = site.counts()
        stranger = client.get(f"{site.server.url}/lti/login", params={**params, "iss": "https://lms.example.org"})
    assert stranger.status_code == 403 and "set-cookie" not in stranger.headers and site.counts() == before
    assert "refused (unknown_platform)" in site.server.log.read_text()


def test_the_lms_pages_origin_from_the_signed_launch_may_frame_the_quiz(site):
    """Canvas's issuer is canvas.instructure.com while a course lives at the school's host:
    the launch's return URL names where the LMS shows quizgen."""
    with site.client() as client:
        r = site.launch_as(client, "u-minjun", "link-1", **{
            LTI + "launch_presentation": {"return_url": "https://school.example.ac.kr/courses/1/modules"}})
        policy = r.headers["content-security-policy"]
        assert f"frame-ancestors 'self' {site.platform.url} https://school.example.ac.kr;" in policy
        again = client.post(f"{site.server.url}/lti/quiz", data={"token": hidden(r.text)["token"]})
        assert "https://school.example.ac.kr" in again.headers["content-security-policy"]  # kept by the credential
