"""The students' page: works without JavaScript, escapes everything it shows, and
cannot be driven cross-site.

There is no cookie and no session: the student id and token travel in the form's own
fields (POST bodies, never the URL), so a page on another site cannot submit for a
student without their token, and nothing lingers in the browser. The idempotency key
is minted when the form is drawn, so a double click or a resent form replays the same
attempt instead of spending a second one. Every response carries a strict
Content-Security-Policy (no scripts at all) and refuses to be framed.
"""

from __future__ import annotations

import html
import json
import uuid
from typing import Any, Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from ..classroom.attempts import Submitted, submit_attempt
from ..classroom.submissions import StudentQuiz, quiz_for_student
from ..errors import QuizgenError, one_line
from ..resources import load_json
from .api import as_student
from .context import Context, context
from .errors import ApiError, describe

router = APIRouter(include_in_schema=False)
MAX_FORM = 64 * 1024

_STYLE = """
body{font-family:system-ui,'Noto Sans KR','Nanum Gothic',sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1d2430}h1{font-size:1.5rem}label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{width:100%;padding:.45rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.55rem 1.4rem;font-size:1rem}pre{background:#f4f6f8;padding:.8rem;overflow-x:auto;
white-space:pre-wrap}.q{border-top:1px solid #d5dae1;margin-top:1.2rem;padding-top:.6rem}.meta{color:#556}
.err{color:#a1261b}.ok{color:#176b32}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _words(lang: str) -> dict[str, str]:
    table = load_json("pages.json")
    return table.get(lang, table["en"])  # type: ignore[no-any-return]


def _page(title: str, body: str, lang: str = "ko", status: int = 200) -> HTMLResponse:
    doc = (f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")
    return HTMLResponse(doc, status_code=status)


def _login_form(lang: str, student: str = "", quiz: str = "", message: str | None = None) -> str:
    w = _words(lang)
    error = f'<p class="err" role="alert">{_e(message)}</p>' if message else ""
    return (f"<h1>{_e(w['login_heading'])}</h1><p>{_e(w['login_intro'])}</p>{error}"
            f'<form method="post" action="/quiz">'
            f'<label for="student">{_e(w["student"])}</label>'
            f'<input type="text" id="student" name="student" required autocomplete="username" value="{_e(student)}">'
            f'<label for="token">{_e(w["token"])}</label>'
            f'<input type="password" id="token" name="token" required autocomplete="current-password">'
            f'<label for="quiz">{_e(w["quiz"])}</label>'
            f'<input type="text" id="quiz" name="quiz" required inputmode="numeric" value="{_e(quiz)}">'
            f'<button type="submit">{_e(w["open"])}</button></form>')


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    lang = "en" if request.query_params.get("lang") == "en" else "ko"
    other = "ko" if lang == "en" else "en"
    switch = f'<p class="meta"><a href="/?lang={other}">{"한국어" if other == "ko" else "English"}</a></p>'
    return _page(_words(lang)["title"], _login_form(lang) + switch, lang)


async def _form(request: Request) -> dict[str, str]:
    if (request.headers.get("content-type") or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise ApiError(415, "unsupported_media_type", "the page sends forms as application/x-www-form-urlencoded")
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_request", "the form could not be read") from None
    return {k: v for k, v in pairs}


def _questions_form(view: StudentQuiz, student: str, token: str) -> str:
    w = _words(view.language)
    rules = [f"{_e(w['deadline'])}: {_e(view.to_json()['quiz']['deadline_local'] or w['no_deadline'])}"]
    left = view.to_json()["quiz"]["attempts_left"]
    rules.append(f"{_e(w['attempts_left'])}: {_e(w['unlimited'] if left is None else left)}")
    head = (f"<h1>{_e(view.title)}</h1><p class=\"meta\">{_e(w['quiz'])} {view.quiz_id} · {_e(student)}<br>"
            + "<br>".join(rules) + "</p>")
    if not view.open:
        return head + f'<p class="err">{_e(w["closed"])}</p>'
    fields = [f'<input type="hidden" name="student" value="{_e(student)}">',
              f'<input type="hidden" name="token" value="{_e(token)}">',
              f'<input type="hidden" name="quiz" value="{view.quiz_id}">',
              f'<input type="hidden" name="idempotency_key" value="{uuid.uuid4()}">']
    for q in view.questions:
        fields.append(f'<div class="q"><h2>{_e(w["question"])} {q.slot} '
                      f'<span class="meta">({q.points} {_e(w["points"])})</span></h2>'
                      f"<pre>{_e(q.prompt)}</pre>")
        if q.response.get("type") == "parts":
            for n, part in enumerate(q.response["parts"], start=1):
                label = part["label"].get(view.language) or part["key"]
                fields.append(f'<label for="a{q.slot}_{n}">({n}) {_e(label)}</label>'
                              f'<input type="text" id="a{q.slot}_{n}" name="a:{q.slot}.{n}" maxlength="200">')
        else:
            fields.append(f'<label for="a{q.slot}">{_e(w["question"])} {q.slot}</label>'
                          f'<input type="text" id="a{q.slot}" name="a:{q.slot}" maxlength="200">')
        fields.append("</div>")
    return (head + f'<form method="post" action="/submit">{"".join(fields)}'
            f'<p class="meta">{_e(w["hint"])}</p><button type="submit">{_e(w["submit"])}</button></form>')


def _receipt_page(done: Submitted, lang: str, student: str, token: str, quiz: str) -> str:
    w = _words(lang)
    r = done.response
    rows = [f"<tr><th>{_e(w['attempt'])}</th><td>{r['attempt']}</td></tr>",
            f"<tr><th>{_e(w['received'])}</th><td>{_e(r['received_local'])}"
            f"{' — ' + _e(w['late']) if r.get('late') else ''}</td></tr>"]
    if r.get("score") is not None:
        rows.append(f"<tr><th>{_e(w['score'])}</th><td>{r['score']:g} / {r['max_score']}</td></tr>")
    out = [f'<h1 class="ok">{_e(w["receipt_heading"])}</h1><table>{"".join(rows)}</table>']
    if r.get("questions"):
        items = []
        for q in r["questions"]:
            mark = w["right"] if q["correct"] else w["wrong"]
            extra = f" — {_e(q['feedback'])}" if q.get("feedback") else ""
            items.append(f"<li>{_e(w['question'])} {q['slot']}: {_e(mark)} ({q['score']:g}/{q['points']}){extra}</li>")
        out.append(f"<ul>{''.join(items)}</ul>")
    elif r.get("graded") is False:
        out.append(f"<p>{_e(w['graded_later'])}</p>")
    if r.get("receipt"):
        out.append(f"<h2>{_e(w['receipt'])}</h2><pre>{_e(json.dumps(r['receipt'], ensure_ascii=False, indent=1))}</pre>")
    out.append(f'<form method="post" action="/quiz"><input type="hidden" name="student" value="{_e(student)}">'
               f'<input type="hidden" name="token" value="{_e(token)}"><input type="hidden" name="quiz" '
               f'value="{_e(quiz)}"><button type="submit">{_e(w["back"])}</button></form>')
    return "".join(out)


async def _guarded(request: Request, lang: str, draw: Callable[[], Any]) -> HTMLResponse:
    """Run ``draw`` (a page's work, in the thread pool); an error becomes a page with one sentence."""
    try:
        return await run_in_threadpool(draw)  # type: ignore[no-any-return]
    except (QuizgenError, ApiError) as exc:
        status, _, message, _ = describe(exc)
        w = _words(lang)
        body = (f'<h1>{_e(w["error_heading"])}</h1><p class="err" role="alert">{_e(one_line(message))}</p>'
                f'<p><a href="/?lang={_e(lang)}">{_e(w["start_over"])}</a></p>')
        return _page(w["error_heading"], body, lang, status)


@router.post("/quiz", response_class=HTMLResponse)
async def quiz_page(request: Request) -> HTMLResponse:
    form = await _form(request)
    ctx: Context = context(request)
    student, token, quiz = form.get("student", "").strip(), form.get("token", "").strip(), form.get("quiz", "").strip()

    def draw() -> HTMLResponse:
        view = as_student(ctx, request, student, lambda: quiz_for_student(ctx.store, quiz, student, token))
        return _page(view.title, _questions_form(view, student, token), view.language)

    return await _guarded(request, "ko", draw)


@router.post("/submit", response_class=HTMLResponse)
async def submit_page(request: Request) -> HTMLResponse:
    form = await _form(request)
    ctx: Context = context(request)
    student, token, quiz = form.get("student", "").strip(), form.get("token", "").strip(), form.get("quiz", "").strip()
    key = form.get("idempotency_key", "")[:200] or None
    answers = {k[2:]: v for k, v in form.items() if k.startswith("a:") and v.strip()}

    def draw() -> HTMLResponse:
        done = as_student(ctx, request, student, lambda: submit_attempt(
            ctx.store, quiz, student, token, answers, source="http", idempotency_key=key, signer=ctx.signer,
            grade_on_arrival=True, rate_limit=ctx.settings.rate_limit))
        lang = quiz_for_student(ctx.store, quiz, student, token).language
        return _page(_words(lang)["receipt_heading"], _receipt_page(done, lang, student, token, quiz), lang)

    return await _guarded(request, "ko", draw)
