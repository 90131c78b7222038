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

    klass = prepare_class(lang, echo=click.echo, db=ctx.find_root().obj["db"])
    server, url = _start_server(klass.db)
    try:
        click.echo(f"Started quizgen serve at {url}/ (students submit there)")
        api, page, refused, receipts = _submit_all(url, klass)
    finally:
        _stop(server)
    click.echo(f"{api} students submitted over the API and {page} through the page; {refused} first tries were "
               f"refused as malformed (e.g. '529.441', '5.3e5'), nothing stored, and sent again corrected; "
               f"{receipts} signed receipts received. The server was stopped.")
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


def _submit_all(url: str, klass) -> tuple[int, int, int, int]:
    import httpx

    from ..receipts import verify_receipt

    api = page = refused = receipts = 0
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        public = client.get("/api/v1/receipt-key").json()["public_key"]
        for n, (student, (first, retry)) in enumerate(sorted(klass.answers.items())):
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
    from ..classroom.audit import audit_quiz
    from ..classroom.keys import trust_for
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
