"""The LTI 1.3 tool's routes under /lti/: they read the request, call the library
(classroom.lti) and draw its answer (service.lti_views, and the students' page's own
views for the quiz and the receipt).

``/lti/login`` (GET and POST) answers the LMS's login initiation with a redirect and the
state cookie; ``/lti/launch`` checks the launch; ``/lti/quiz`` and ``/lti/submit`` are
the launched student's form, authenticated by the credential it carries;
``/lti/deep-link`` signs the instructor's choice; ``/lti/jwks.json`` publishes the tool's
keys. A refusal is one sentence on a page and one log line (the reason and the detail),
and nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..classroom.lti import launch as launches
from ..classroom.lti.refusals import LaunchRefused
from ..classroom.lti.student_pages import just_launched, launched_quiz, launched_submit
from .api import idempotency_key_ok
from .context import Context, LtiTool, context
from .errors import ApiError
from .lti_views import (
    deep_link_page,
    deep_link_return_page,
    framed,
    index_page,
    progress_page,
    refused_page,
    unmatched_page,
    window_page,
)
from .page_views import Draft, error_page, questions_page, receipt_page
from .pages import (
    MAX_FIELDS,
    _lang,
    _log_unexpected,
    _new_key,
    _notice,
    _read_form,
    _unreadable,
    blanks_confirmed,
    preferred_lang,
    review_step,
)

log = logging.getLogger("quizgen.service")
router = APIRouter(prefix="/lti", include_in_schema=False)


def _tool(request: Request) -> tuple[Context, LtiTool]:
    ctx = context(request)
    assert ctx.lti is not None
    return ctx, ctx.lti


def _launch_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/lti/launch"


def _refused(request: Request, exc: LaunchRefused, lang: str) -> HTMLResponse:
    log.warning("LTI %s refused (%s): %s", request.url.path, exc.reason, exc.detail)
    return framed(refused_page(lang, exc.reason, 403 if exc.reason != "keys_unreachable" else 503), None)


async def _form_or_query(request: Request) -> dict[str, str]:
    if request.method == "GET":
        pairs = parse_qsl(request.url.query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        return dict(pairs)
    return await _read_form(request)


async def _guarded(request: Request, work: Callable[[dict[str, str], str], Response]) -> Response:
    """Read the form (or query), then run ``work`` in the thread pool; a form that cannot be
    read, or a refusal, becomes its page."""
    lang = preferred_lang(request)
    try:
        form = await _form_or_query(request)
    except (ApiError, ValueError):
        return _refused(request, LaunchRefused("bad_login", "the request's form cannot be read"), lang)
    lang = _lang(form.get("lang")) or lang

    def run() -> Response:
        try:
            return work(form, lang)
        except LaunchRefused as exc:
            return _refused(request, exc, lang)
        except Exception as exc:  # noqa: BLE001 - every other failure is the students' page's error page
            _log_unexpected(exc)
            status, _, notice, headers = _notice(exc, lang)
            response = error_page(lang, notice, status)
            response.headers.update(headers)
            return framed(response, None)

    return await run_in_threadpool(run)


# ---------------------------------------------------------------- keys, login, launch

@router.get("/jwks.json")
def jwks(request: Request) -> JSONResponse:
    _, tool = _tool(request)
    return JSONResponse(tool.keys.get().jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return index_page(preferred_lang(request))


@router.api_route("/login", methods=["GET", "POST"])
async def login(request: Request) -> Response:
    ctx, tool = _tool(request)
    secure = request.url.scheme == "https"

    def work(form: dict[str, str], lang: str) -> Response:
        redirect = launches.begin_login(ctx.store, tool.keys.get(), form, _launch_url(request))
        response = RedirectResponse(redirect.url, status_code=302)
        # Inside the LMS's frame the cookie is a third party's: SameSite=None (it must come back on
        # the LMS's cross-site POST), Secure (required with None) and Partitioned (kept per LMS
        # site, so browsers that block third-party cookies still send it back). Plain HTTP is
        # only ever this machine, where the test LMS is same-site: Lax.
        cookie = (f"{redirect.cookie_name}={redirect.cookie_value}; Path=/lti/; Max-Age={redirect.max_age}; "
                  "HttpOnly; " + ("SameSite=None; Secure; Partitioned" if secure else "SameSite=Lax"))
        response.headers.append("set-cookie", cookie)
        return response

    return await _guarded(request, work)


@router.post("/launch")
async def launch(request: Request) -> Response:
    ctx, tool = _tool(request)
    cookies = dict(request.cookies)

    def work(form: dict[str, str], lang: str) -> Response:
        result = launches.launch(ctx.store, tool.keys.get(), tool.platform_keys, form, cookies)
        if isinstance(result, launches.NeedsWindow):
            return framed(window_page(lang, result.relogin), result.frames)
        if isinstance(result, launches.DeepLinkLaunch):
            return framed(deep_link_page(result.lang or lang, result), result.frames)
        if isinstance(result, launches.InstructorLaunch):
            from ..classroom.lti.people import progress

            return framed(progress_page(progress(ctx.store, result.quiz_id, result.platform.id)),
                          result.frames)
        if isinstance(result, launches.Unmatched):
            log.info("LTI launch by an LMS user not on the roster (%s; see 'quizgen lti unmatched')",
                     result.platform.name)
            return framed(unmatched_page(result.lang or lang, result.name), result.frames)
        tool.sender.wake()  # a score may have been queued for a student graded before their first launch
        opened = just_launched(ctx.store, tool.keys.get(), result)
        return framed(questions_page(opened.view, opened.credential, _new_key(), home=False), result.frames)

    return await _guarded(request, work)


# ---------------------------------------------------------------- the launched student's form

@router.post("/quiz", response_class=HTMLResponse)
async def quiz_page(request: Request) -> Response:
    ctx, tool = _tool(request)

    def work(form: dict[str, str], lang: str) -> Response:
        opened = launched_quiz(ctx.store, tool.keys.get(), form.get("token", ""))
        return framed(questions_page(opened.view, opened.credential, _new_key(), home=False),
                      opened.launched.frames)

    return await _guarded(request, work)


@router.post("/review", response_class=HTMLResponse)
async def review_page_(request: Request) -> Response:
    """The answers shown back before an attempt is spent, as on the students' page."""
    ctx, tool = _tool(request)

    def work(form: dict[str, str], lang: str) -> Response:
        opened = launched_quiz(ctx.store, tool.keys.get(), form.get("token", ""))
        key = form.get("idempotency_key", "")
        values = {k: v for k, v in form.items() if k.startswith("a:")}
        page = review_step(opened.view, opened.credential, key if idempotency_key_ok(key) else _new_key(), values,
                           home=False)
        return framed(page, opened.launched.frames)

    return await _guarded(request, work)


@router.post("/submit", response_class=HTMLResponse)
async def submit_page(request: Request) -> Response:
    ctx, tool = _tool(request)
    site = request.headers.get("sec-fetch-site")

    def work(form: dict[str, str], lang: str) -> Response:
        if site is not None and site not in ("same-origin", "none"):
            raise LaunchRefused("credential", f"a form sent from another site ({site[:20]}) is refused")
        credential, key = form.get("token", ""), form.get("idempotency_key", "")
        values = {k: v for k, v in form.items() if k.startswith("a:")}
        answers = {k[2:]: v for k, v in values.items() if v.strip()}
        try:
            if not idempotency_key_ok(key):
                raise ApiError(400, "bad_request", "the form has no valid idempotency key; open the quiz again")
            opened = launched_quiz(ctx.store, tool.keys.get(), credential)
            if opened.view.open and not blanks_confirmed(opened.view, answers, form):
                return framed(review_step(opened.view, opened.credential, key, values, home=False),
                              opened.launched.frames)
            done = launched_submit(ctx.store, tool.keys.get(), credential, form.get("student", ""), answers,
                                   idempotency_key=key, signer=ctx.signer, rate_limit=ctx.settings.rate_limit)
        except LaunchRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page
            return _not_taken(ctx, tool, exc, credential, form, lang, values, bool(answers))
        tool.sender.wake()
        shown = done.view.language if done.view else lang
        page = receipt_page(done.done, done.view, shown, done.credential, values, home=False)
        return framed(page, done.launched.frames)

    return await _guarded(request, work)


def _not_taken(ctx: Context, tool: LtiTool, exc: BaseException, credential: str, form: dict[str, str], lang: str,
               values: dict[str, str], answered: bool) -> Response:
    """The questions again with the student's answers and the reason (as the students' page does)."""
    _log_unexpected(exc)
    status, code, notice, headers = _notice(exc, lang, answered=answered)
    try:
        opened = launched_quiz(ctx.store, tool.keys.get(), credential)
    except Exception:  # noqa: BLE001 - the first failure is the one to tell
        return framed(error_page(lang, notice, status), None)
    notice = _notice(exc, opened.view.language, answered=answered)[2]
    errors = _unreadable(opened.view, values) if code == "invalid_answers" else {}
    key = _new_key() if code == "idempotency_key_reused" else form.get("idempotency_key", "")
    response = questions_page(opened.view, opened.credential, key, Draft(values, errors, notice), status,
                              home=False)
    response.headers.update(headers)
    return framed(response, opened.launched.frames)


# ---------------------------------------------------------------- deep linking

@router.post("/deep-link", response_class=HTMLResponse)
async def deep_link(request: Request) -> Response:
    ctx, tool = _tool(request)

    def work(form: dict[str, str], lang: str) -> Response:
        response = launches.deep_link_response(ctx.store, tool.keys.get(), form.get("credential", ""),
                                               form.get("quiz", ""), _launch_url(request))
        return framed(deep_link_return_page(lang, response), response.frames, post_to=response.return_url)

    return await _guarded(request, work)
