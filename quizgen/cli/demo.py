"""``quizgen demo`` (what ``make demo`` runs): a whole class through the checking service.

It prepares a class (classroom.demo), starts a real ``quizgen serve`` on 127.0.0.1,
has most students submit over the JSON API and a few through the page, stops the
server, then does what the instructor does: grade (nothing is left: answers were
graded on arrival), audit the transparency log of attempts, print the gradebook and report.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import click

from .options import lang_option

PAGE_STUDENTS = 3  # how many students use the web page instead of the API
LMS_STUDENTS = 1  # how many open the quiz from the (test) LMS instead: the last on the roster


@click.command()
@lang_option(help="Language of the quiz and the report.")
@click.pass_context
def demo(ctx: click.Context, lang: str) -> None:
    """A class of 30 end to end: roster, Keras-confirmed quiz, students submitting to a real
    quizgen serve on 127.0.0.1 (API and page), grading, audit, gradebook and report.

    Uses a fresh temporary database unless --db names one.

    \b
    Example:
      quizgen demo --lang en
    """
    from ..classroom.demo import next_steps, prepare_class
    from ..service.lti_testplatform import TestPlatform

    klass = prepare_class(lang, echo=click.echo, db=ctx.find_root().obj["db"])
    lms_student = sorted(klass.answers)[-1]
    platform = TestPlatform().serve()  # a demo LMS on 127.0.0.1 (quizgen's test peer, not a real LMS)
    server, url = _start_server(klass.db)
    try:
        click.echo(f"Started quizgen serve at {url}/ (students submit there)")
        api, page, refused, receipts = _submit_all(url, klass, skip={lms_student})
        _through_the_lms(platform, url, klass, lms_student)
    finally:
        _stop(server)
        platform.stop()
    click.echo(f"{api} students submitted over the API, {page} through the page and {LMS_STUDENTS} from the LMS; "
               f"{refused} first tries were refused as malformed (e.g. '529.441', '5.3e5'), nothing stored, and "
               f"sent again corrected; {receipts} signed receipts received. The server was stopped.")
    _instructor(ctx, klass)
    click.echo(next_steps(klass.db, klass.roster[0].id))


def _start_server(db: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "quizgen", "--db", db, "serve", "--host", "127.0.0.1", "--port",
                             "0", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "QUIZGEN_DB": db})
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"serving (http://127\.0\.0\.1:\d+)/", line)
    if m is None:
        proc.kill()
        raise click.ClickException(f"the demo server did not start: {line.strip() or proc.stderr.read()[-300:]}")
    url = m.group(1)
    import httpx

    for _ in range(200):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2, trust_env=False).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise click.ClickException("the demo server never answered its health check")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _through_the_lms(platform, url: str, klass, student: str) -> None:
    """The LMS route (README "Bringing a class in"): register the demo LMS, the instructor
    adds the quiz by deep linking (one gradebook column), one student opens it from the
    course and submits inside it, and the score arrives in the LMS's gradebook."""
    import httpx

    from ..classroom.lti.platforms import add_platform
    from ..service.lti_testplatform import form_of
    from ..store.db import open_store

    platform.tool_url = url
    name = next(e.name for e in klass.roster if e.id == student)
    platform.add_user("u-teacher", "강사" if klass.language == "ko" else "Instructor", None, None, instructor=True)
    platform.add_user("u-student", name, None, student)
    store = open_store(klass.db, create=False)
    try:
        add_platform(store, name="demo-lms", issuer=platform.issuer, client_id=platform.client_id,
                     deployments=[platform.deployment_id], auth_url=f"{platform.url}/auth",
                     token_url=f"{platform.url}/token", jwks_url=f"{platform.url}/jwks", match="student-id")
    finally:
        store.dispose()
    click.echo(f"\nThe LMS route: a demo LMS at {platform.url} registered ('quizgen lti add-platform').")
    with httpx.Client(trust_env=False, timeout=30) as teacher:
        link = platform.add_by_deep_linking(teacher, "u-teacher", klass.quiz_id)
    item = platform.line_items[platform.links[link].line_item]
    click.echo(f"The instructor added quiz {klass.quiz_id} by deep linking: the LMS made one gradebook column "
               f"({item.label!r}, out of {item.score_maximum:g}, resource {item.resource_id}).")
    with httpx.Client(trust_env=False, timeout=30) as browser:
        page = platform.visit(browser, "u-student", link)
        _, fields = form_of(page.text)
        answers = {f"a:{k}": v for k, v in klass.answers[student][1].items()}
        done = browser.post(f"{url}/lti/submit", data={**fields, **answers}, headers={"Sec-Fetch-Site": "same-origin"})
        if done.status_code != 200:
            raise click.ClickException(f"the LMS student's submission was refused: {done.text[:200]}")
    click.echo(f"{student} ({name}) opened the quiz from the course (no token: a launch credential) and submitted.")
    for _ in range(600):
        book = platform.gradebook().get(item.id, {})
        if "u-student" in book:
            score = book["u-student"]
            click.echo(f"The LMS's gradebook now holds {score['scoreGiven']:g} / {score['scoreMaximum']:g} for "
                       f"{name} in {item.label!r}, stamped {score['timestamp']} (when the attempt arrived).")
            return
        time.sleep(0.05)
    raise click.ClickException("the score did not reach the demo LMS within 30 s ('quizgen lti pending' says why)")


def _submit_all(url: str, klass, skip: set[str]) -> tuple[int, int, int, int]:
    import httpx

    from ..receipts import verify_receipt

    api = page = refused = receipts = 0
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        public = client.get("/api/v1/receipt-key").json()["public_key"]
        for n, (student, (first, retry)) in enumerate(sorted(klass.answers.items())):
            if student in skip:
                continue
            token = klass.tokens[student]
            if n < PAGE_STUDENTS:  # the form a browser would post; the page draws it (and mints its key)
                client.post("/quiz", data={"student": student, "token": token, "quiz": str(klass.quiz_id)})
                form = {"student": student, "token": token, "quiz": str(klass.quiz_id),
                        "idempotency_key": str(uuid.uuid4()), **{f"a:{k}": v for k, v in retry.items()}}
                if client.post("/submit", data=form).status_code == 200:
                    page += 1
                continue
            headers = {"Authorization": f"Bearer {student}:{token}"}
            r = client.post(f"/api/v1/quizzes/{klass.quiz_id}/submissions", json={"answers": first},
                            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
            if r.status_code == 422:
                refused += 1  # a malformed answer: nothing recorded, the student fixes it and resubmits
                r = client.post(f"/api/v1/quizzes/{klass.quiz_id}/submissions", json={"answers": retry},
                                headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
            if r.status_code != 201:
                raise click.ClickException(f"the demo server refused a submission: {r.text[:200]}")
            api += 1
            receipts += verify_receipt(r.json()["receipt"], public)
    return api, page, refused, receipts


def _instructor(ctx: click.Context, klass) -> None:
    from ..classroom.audit import audit_quiz, trust_for
    from ..classroom.results import gradebook
    from ..exports.analysis import format_report, item_analysis
    from ..exports.gradebook import gradebook_csv
    from ..grading.batch import grade_quiz
    from ..store.db import open_store

    store = open_store(klass.db, create=False)
    try:
        result = grade_quiz(store, klass.quiz_id)
        click.echo(f"quizgen grade: {result.graded} answer(s) left to grade (the service graded every answer on "
                   "arrival).")
        audit = audit_quiz(store, klass.quiz_id, trust_for(store, klass.db, None))
        click.echo(f"quizgen audit: {audit.attempts} attempts, {audit.signed} signed receipts and {audit.checkpoints} "
                   f"signed checkpoints checked; log {'intact' if audit.intact else 'BROKEN'}.\n")
        book = gradebook(store, klass.quiz_id)
        lines = gradebook_csv(book).splitlines()
        click.echo("Gradebook (Canvas CSV, first rows):\n" + "\n".join(lines[:7]) + f"\n… {len(lines) - 7} more rows\n")
        click.echo(format_report(item_analysis(book), klass.language))
    finally:
        store.dispose()
