"""Grades back to the LMS (AGS) through the queue written in the grading transaction: a
platform failing then recovering gets one score, two graders leave one current score per
student and column, a regrade changes the LMS's score; the roster comes in through NRPS
pages; the tool's key rotates with the old key still published."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from .lti_site import hidden, make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    made = make_site(tmp_path_factory.mktemp("passback"), "--feedback", "none", "--attempts", "5")
    yield made
    made.stop()


def _latest(site, user: str) -> dict:
    item = site.platform.links["link-1"].line_item
    return site.platform.gradebook()[item][user]


def _total(site, student: str) -> float:
    out = site.klass.run("gradebook", str(site.quiz), "--format", "json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["students"]
    return next(r["total"] for r in rows if r["id"] == student)


def test_two_graders_at_once_leave_one_current_score_and_the_lms_gets_it(site):
    with site.client() as client:
        page = site.launch_as(client, "u-minjun", "link-1").text
        right = site.answers("20260001")
        wrong = {k: (v.replace(",", "") + "0" if v.replace(",", "").isdigit() else v) for k, v in right.items()}
        assert site.submit(client, page, right).status_code == 200
        page = site.launch_as(client, "u-minjun", "link-1").text
        assert site.submit(client, page, wrong).status_code == 200
    assert site.sql("SELECT count(*) FROM lti_scores") == [(0,)]  # feedback none: nothing graded on arrival
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    graders = [subprocess.Popen([sys.executable, "-m", "quizgen", "--db", str(site.klass.db), "grade", str(site.quiz)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) for _ in range(2)]
    for g in graders:
        assert g.wait(timeout=120) == 0, g.stdout.read() if g.stdout else ""
    rows = site.sql("SELECT s.external_id, q.score FROM lti_scores q JOIN students s ON s.id = q.student_id")
    assert rows == [("20260001", _total(site, "20260001"))]  # counting 'last': the wrong attempt counts
    site.wait_for_scores(1)
    deadline = time.monotonic() + 30
    while _latest(site, "u-minjun")["scoreGiven"] != rows[0][1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _latest(site, "u-minjun")["scoreGiven"] == rows[0][1]


def test_a_regrade_changes_the_score_in_the_lms(site):
    before = _latest(site, "u-minjun")["scoreGiven"]
    key = site.klass.key("20260001")
    slot = next(a for a in key if a["answer"]["type"] == "count")
    wrong = f"{slot['answer']['value']}0"
    out = site.klass.run("quiz", "accept", str(site.quiz), str(slot["slot"]), wrong, "--student", "20260001",
                         "--apply")
    assert out.exit_code == 0, out.output
    after = _total(site, "20260001")
    assert after > before
    deadline = time.monotonic() + 60
    while _latest(site, "u-minjun")["scoreGiven"] != after and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _latest(site, "u-minjun")["scoreGiven"] == after
    assert site.sql("SELECT count(*) FROM lti_scores") == [(1,)]


def test_a_platform_failing_then_recovering_gets_the_score_once(site):
    site.platform.fail_scores = [503]
    sent = len(site.platform.scores)
    with site.client() as client:
        page = site.launch_as(client, "u-seoyeon", "link-1").text
        assert site.submit(client, page, site.answers("20260002")).status_code == 200
    graded = site.klass.run("grade", str(site.quiz))
    assert graded.exit_code == 0, graded.output
    site.wait_for_scores(sent + 1)
    time.sleep(1.5)  # the sender's next rounds: nothing more goes out
    mine = [b for _, b in site.platform.scores[sent:] if b["userId"] == "u-seoyeon"]
    assert len(mine) == 1 and mine[0]["scoreGiven"] == _total(site, "20260002")
    assert site.platform.fail_scores == []  # the 503 was answered, and the score went again after it
    site.wait_for("SELECT tries, last_error, sent_revision = revision FROM lti_scores JOIN students s "
                  "ON s.id = student_id WHERE s.external_id = '20260002'", [(0, None, 1)])


def test_pending_says_why_and_push_retries_now(site):
    site.platform.fail_scores = [500] * 1000
    with site.client() as client:
        page = site.launch_as(client, "u-jihu", "link-1").text
        assert site.submit(client, page, site.answers("20260003")).status_code == 200
    assert site.klass.run("grade", str(site.quiz)).exit_code == 0
    deadline = time.monotonic() + 30
    while not site.sql("SELECT 1 FROM lti_scores WHERE tries > 0") and time.monotonic() < deadline:
        time.sleep(0.05)
    pending = json.loads(site.klass.run("lti", "pending", str(site.quiz), "--json").stdout)
    assert [p["student"] for p in pending] == ["20260003"] and "500" in pending[0]["error"]
    failed = site.klass.run("lti", "push")
    assert failed.exit_code == 75 and "1 failed" in failed.stderr
    site.platform.fail_scores = []
    pushed = site.klass.run("lti", "push", "--json")
    assert json.loads(pushed.stdout)["sent"] in (0, 1)  # the server's own sender may have won the race
    site.wait_for("SELECT count(*) FROM lti_scores WHERE sent_revision < revision", [(0,)])
    assert json.loads(site.klass.run("lti", "pending", "--json").stdout) == []
    assert _latest(site, "u-jihu")["scoreGiven"] == _total(site, "20260003")


def test_the_roster_comes_in_from_the_lms_page_by_page(site):
    site.platform.add_user("u-new", "최하은", "h@example.ac.kr", "20260077")
    site.platform.add_user("u-nosid", "정도윤", None, None)
    pages = site.platform.member_pages
    out = site.klass.run("lti", "roster", str(site.quiz), "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert site.platform.member_pages - pages == 3  # 6 members, 2 a page: every Link rel="next" followed
    assert [t["id"] for t in result["added"]] == ["20260077"] and result["unmatched"] == ["정도윤"]
    assert site.sql("SELECT s.external_id FROM lti_users u JOIN students s ON s.id = u.student_id "
                    "WHERE u.sub = 'u-new'") == [("20260077",)]
    assert site.sql("SELECT name, email FROM students WHERE external_id = '20260077'") == [
        ("최하은", "h@example.ac.kr")]


def test_the_tool_key_is_private_published_and_rotates(site):
    path = f"{site.klass.db}.lti-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with site.client() as client:
        first = client.get(f"{site.server.url}/lti/jwks.json").json()["keys"]
        assert len(first) == 1 and "d" not in first[0] and first[0]["alg"] == "RS256"
        out = site.klass.run("lti", "rotate-key", "--json")
        assert out.exit_code == 0, out.output
        rotated = json.loads(out.stdout)
        assert rotated["retired"] == first[0]["kid"]
        kids = [k["kid"] for k in client.get(f"{site.server.url}/lti/jwks.json").json()["keys"]]
        assert kids == [rotated["kid"], first[0]["kid"]]  # the old key stays published
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        # what the tool signs now carries the new key, which the platform finds in the JWKS
        # (the running server's own pages still work: it read the new key file)
        assert hidden(site.launch_as(client, "u-minjun", "link-1").text)["student"] == "20260001"
        tokens = len(site.platform.token_requests)
        out = site.klass.run("lti", "roster", str(site.quiz))  # a new process: a new token
        assert out.exit_code == 0, out.output
        assert len(site.platform.token_requests) == tokens + 1


def test_config_prints_what_the_lms_needs(site):
    out = site.klass.run("lti", "config", "--url", "https://quiz.example.ac.kr", "--json")
    made = json.loads(out.stdout)
    assert made["login_url"] == "https://quiz.example.ac.kr/lti/login"
    assert made["launch_url"] == made["deep_linking_url"] == "https://quiz.example.ac.kr/lti/launch"
    assert made["jwks_url"] == "https://quiz.example.ac.kr/lti/jwks.json"
    assert made["canvas_developer_key"]["oidc_initiation_url"] == made["login_url"]
    refused = site.klass.run("lti", "config", "--url", "http://quiz.example.ac.kr")
    assert refused.exit_code == 1 and refused.stderr.startswith("Error: --url must be an https:// URL")
