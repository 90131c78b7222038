"""The students' page: works without JavaScript, escapes everything it shows, and
cannot be driven cross-site.

There is no cookie and no session: the student id and token travel in the form's own
fields (POST bodies, never the URL), so a page on another site cannot submit for a
student without their token, and nothing lingers in the browser. A browser's own
word that a form came from another site (``Sec-Fetch-Site``) is refused outright,
before any token is looked at. The idempotency key is minted when the form is drawn,
so a double click or a resent form replays the same attempt instead of spending a
second one. Every response carries a strict Content-Security-Policy (no scripts at
all) and refuses to be framed (service.middleware).

Routes only parse the form, call the library every front end calls
(``quiz_for_student``, ``submit_attempt``, through ``api.as_student`` so failed logins
are throttled alike) and draw its answer (service.page_views). When a submission is
not taken, the student's answers are drawn again with the reason; an answer the
library cannot read is marked where it was typed, by the library's own parser.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..classroom.answersheets import Blank, blank_answers
from ..classroom.attempts import submit_attempt
from ..classroom.submissions import StudentQuiz, quiz_for_student
from ..errors import QuizgenError, one_line
from ..grading.answers import AnswerError, parse_answer
from .api import as_student, idempotency_key_ok
from .context import Context, context
from .errors import ApiError, describe, require_media_type
from .page_views import (
    FONT_PATH,
    LANGS,
    Draft,
    Notice,
    answer_fields,
    confirmed_blanks,
    error_page,
    login_page,
    questions_page,
    receipt_page,
    review_page,
    words,
)
from .webfont import hangul_woff

log = logging.getLogger("quizgen.service")
router = APIRouter(include_in_schema=False)
MAX_FIELDS = 500
# The library's sentence is worth showing under the page's own where it names something
# the student can act on (the deadline, which answer, how many attempts).
_DETAILED = frozenset({"quiz_closed", "attempts_exhausted", "refused", "invalid_answers", "not_on_quiz"})
_FORM_ERRORS = frozenset({"bad_request", "unsupported_media_type", "payload_too_large", "cross_site"})


# ---------------------------------------------------------------- reading a request

def _lang(value: str | None) -> str | None:
    return value if value in LANGS else None


def preferred_lang(request: Request) -> str:
    """``?lang=``, else the first of ko/en the browser's Accept-Language names, else ko."""
    chosen = _lang(request.query_params.get("lang"))
    if chosen:
        return chosen
    ranked = []
    for n, item in enumerate((request.headers.get("accept-language") or "").split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > 0:
            ranked.append((-q, n, primary))
    return min(ranked)[2] if ranked else "ko"


async def _read_form(request: Request) -> dict[str, str]:
    require_media_type(request.headers.get("content-type"), "application/x-www-form-urlencoded",
                       "the page sends forms as application/x-www-form-urlencoded")
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_request", "the form could not be read") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # the page never sends a field twice; which value would count?
        raise ApiError(400, "bad_request", "a field of the form is given twice")
    return fields


def _refuse_cross_site(request: Request) -> None:
    """A form another site's page sent (the browser says so in Sec-Fetch-Site) is refused.
    Browsers that send no such header (plain HTTP off loopback) still need the token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise ApiError(403, "cross_site", f"a form sent from another site ({one_line(site, 20)}) is refused")


def _notice(exc: BaseException, lang: str, *, login: bool = False,
            answered: bool = True) -> tuple[int, str, Notice, dict[str, str]]:
    """(status, code, what the student reads, headers) for a failure."""
    status, code, message, retry = describe(exc)
    key = code
    if code == "rate_limited" and login:
        key = "login_throttled"
    elif code == "invalid_answers" and not answered:
        key = "no_answers"
    elif code in _FORM_ERRORS - {"cross_site"}:
        key = "bad_form"
    table = words(lang)["errors"]
    text = table.get(key, table["internal"]).format(seconds=retry or 1)
    headers = {"Retry-After": str(retry)} if retry is not None else {}
    return status, code, Notice(text, one_line(message) if code in _DETAILED else None), headers


def _log_unexpected(exc: BaseException) -> None:
    if describe(exc)[0] == 500:
        log.error("the students' page failed", exc_info=exc)


def _with(response: HTMLResponse, headers: dict[str, str]) -> HTMLResponse:
    response.headers.update(headers)
    return response


def _new_key() -> str:
    return str(uuid.uuid4())


def _view(ctx: Context, request: Request, student: str, token: str, quiz: str) -> StudentQuiz:
    return as_student(ctx, request, student, lambda: quiz_for_student(ctx.store, quiz, student, token))


async def _handle(request: Request, draw: Callable[[dict[str, str], str], HTMLResponse]) -> HTMLResponse:
    """Read the form and run ``draw(form, lang)`` in the thread pool; a form that cannot
    be read, or came from another site, gets an error page in the best language known."""
    lang = preferred_lang(request)
    try:
        form = await _read_form(request)
        lang = _lang(form.get("lang")) or lang
        _refuse_cross_site(request)
    except ApiError as exc:
        status, _, notice, headers = _notice(exc, lang)
        return _with(error_page(lang, notice, status), headers)
    return await run_in_threadpool(draw, form, lang)


def _who(form: dict[str, str]) -> tuple[str, str, str]:
    return form.get("student", "").strip(), form.get("token", "").strip(), form.get("quiz", "").strip()


# ---------------------------------------------------------------- routes

@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return login_page(preferred_lang(request))


@router.get("/quiz")
@router.get("/submit")
def back_to_start(request: Request) -> Response:
    """A bookmarked or retyped address of a form's answer: there is no session to show
    it again from, so the student starts over (their token is never in a URL)."""
    return RedirectResponse("./", status_code=303)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/" + FONT_PATH)
def hangul_font() -> Response:
    """Hangul for browsers that have no Korean font (service.webfont); cacheable, unlike
    every page."""
    data = hangul_woff()
    if data is None:
        return Response(status_code=404)
    return Response(data, media_type="font/woff", headers={"Cache-Control": "public, max-age=604800, immutable"})


@router.post("/quiz", response_class=HTMLResponse)
async def quiz_page(request: Request) -> HTMLResponse:
    """The student's questions, or the first page again with the reason. From the review
    page's "change answers" button it carries the answers and the key back in."""
    ctx: Context = context(request)

    def draw(form: dict[str, str], lang: str) -> HTMLResponse:
        student, token, quiz = _who(form)
        try:
            view = _view(ctx, request, student, token, quiz)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page
            _log_unexpected(exc)
            status, code, notice, headers = _notice(exc, lang, login=True)
            keep = "" if code in ("unauthorized", "rate_limited") else token
            if code == "unstorable_text":  # typed again, not drawn back (a browser shows NUL as U+FFFD)
                student = ""
            return _with(login_page(lang, student, quiz, keep, notice, status, code), headers)
        key = form.get("idempotency_key", "")
        return questions_page(view, token, key if idempotency_key_ok(key) else _new_key(), Draft(_answers(form)))

    return await _handle(request, draw)


@router.post("/review", response_class=HTMLResponse)
async def review(request: Request) -> HTMLResponse:
    """The answers shown back (what Enter in a field leads to): nothing is recorded here.
    Unreadable answers bring the questions back marked, as a submission would."""
    ctx: Context = context(request)

    def draw(form: dict[str, str], lang: str) -> HTMLResponse:
        student, token, quiz = _who(form)
        values = _answers(form)
        try:
            if not idempotency_key_ok(form.get("idempotency_key", "")):
                raise ApiError(400, "bad_request", "the form has no valid idempotency key; open the quiz again")
            view = _view(ctx, request, student, token, quiz)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page
            return _not_taken(ctx, request, exc, form, lang, values, True)
        return review_step(view, token, form["idempotency_key"], values)

    return await _handle(request, draw)


def review_step(view: StudentQuiz, token: str, key: str, values: dict[str, str], home: bool = True) -> HTMLResponse:
    """The review page; or the questions again, marked, when an answer cannot be read or
    none is given (the sentence a submission would get; nothing recorded), or saying the
    quiz is closed. (The LTI pages take the same step: ``home`` False there.)"""
    if not view.open:
        return questions_page(view, token, key, Draft(values), 409, home)
    answers = _given(values)
    unreadable = _unreadable(view, values)
    if unreadable or not answers:
        status, _, notice, _ = _notice(AnswerError(""), view.language, answered=bool(answers))
        return questions_page(view, token, key, Draft(values, unreadable, notice), status, home)
    return review_page(view, token, key, values, _blanks(view, answers), home)


def blanks_confirmed(view: StudentQuiz, answers: dict[str, str], form: dict[str, str]) -> bool:
    """Whether the student submits with exactly the blanks the review page showed them
    (a submission with other blanks goes back to the review step, nothing recorded)."""
    return sorted(b.key for b in _blanks(view, answers)) == confirmed_blanks(form)


@router.post("/submit", response_class=HTMLResponse)
async def submit_page(request: Request) -> HTMLResponse:
    """Record the attempt and show the receipt; otherwise the form again, answers kept.
    A submission that leaves blank other questions or parts than the review page showed
    (and the student submitted anyway) is not taken: the review page is shown instead."""
    ctx: Context = context(request)

    def draw(form: dict[str, str], lang: str) -> HTMLResponse:
        student, token, quiz = _who(form)
        key = form.get("idempotency_key", "")
        values = _answers(form)
        answers = _given(values)
        try:
            if not idempotency_key_ok(key):
                raise ApiError(400, "bad_request", "the form has no valid idempotency key; open the quiz again")
            before = _view(ctx, request, student, token, quiz)
            if not blanks_confirmed(before, answers, form):
                return review_step(before, token, key, values)
            done = as_student(ctx, request, student, lambda: submit_attempt(
                ctx.store, quiz, student, token, answers, source="http", idempotency_key=key, signer=ctx.signer,
                grade_on_arrival=True, rate_limit=ctx.settings.rate_limit))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page
            return _not_taken(ctx, request, exc, form, lang, values, bool(answers))
        try:
            view: StudentQuiz | None = _view(ctx, request, student, token, quiz)
        except QuizgenError:
            view = None  # the attempt is stored and its receipt made: show it without the quiz's state
        return receipt_page(done, view, view.language if view else lang, token, values)

    return await _handle(request, draw)


def _answers(form: dict[str, str]) -> dict[str, str]:
    """The form's answer fields (``a:3``, ``a:3.2``), blank ones included."""
    return {k: v for k, v in form.items() if k.startswith("a:")}


def _given(values: dict[str, str]) -> dict[str, str]:
    """The answers the library is given: by their keys, blank ones left out."""
    return {k[2:]: v for k, v in values.items() if v.strip()}


def _blanks(view: StudentQuiz, answers: dict[str, str]) -> list[Blank]:
    return list(blank_answers({q.slot: q.response for q in view.questions}, answers).missing)


def _not_taken(ctx: Context, request: Request, exc: BaseException, form: dict[str, str], lang: str,
               values: dict[str, str], answered: bool) -> HTMLResponse:
    """The questions again with the student's answers and the reason (each unreadable
    answer marked where it was typed); the first page for a wrong token; an error page
    when the quiz cannot be shown."""
    student, token, quiz = _who(form)
    _log_unexpected(exc)
    status, code, notice, headers = _notice(exc, lang, answered=answered)
    if code == "unauthorized":
        return _with(login_page(lang, student, quiz, "", notice, status, code), headers)
    if code in _FORM_ERRORS:
        return _with(error_page(lang, notice, status), headers)
    try:
        view = _view(ctx, request, student, token, quiz)
    except Exception:  # noqa: BLE001 - the first failure is the one to tell
        return _with(error_page(lang, notice, status), headers)
    notice = _notice(exc, view.language, answered=answered)[2]  # in the quiz's language
    errors = _unreadable(view, values) if code == "invalid_answers" else {}
    # A key the library has stored another answer set under cannot be used again.
    key = _new_key() if code == "idempotency_key_reused" else form.get("idempotency_key", "")
    return _with(questions_page(view, token, key, Draft(values, errors, notice), status), headers)


def _unreadable(view: StudentQuiz, values: dict[str, str]) -> dict[str, str]:
    """Field name → why the library's parser cannot read what was typed there (in the quiz's language)."""
    out = {}
    for fields in answer_fields(view).values():
        for f in fields:
            text = values.get(f.name, "")
            if text.strip():
                try:
                    parse_answer(f.kind, text, view.language)
                except AnswerError as exc:
                    out[f.name] = one_line(str(exc))
    return out

