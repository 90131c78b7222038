"""The HTML of quizgen's LTI pages (shown inside the LMS's frame): a refusal, the "open in
a new window" fallback, an unmatched student, an instructor's progress, the deep-linking
choice and its hand-back to the LMS. The students' quiz and receipt are the students'
page's own (service.page_views), carrying the launch's credential in place of a token.

Each page allows being framed by its LMS only (``frame-ancestors``), and form posts to
this server only, except the deep-linking hand-back, which posts to the LMS's return URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

from ..classroom.lti.launch import DeepLinkLaunch, DeepLinkResponse
from ..classroom.lti.people import Progress
from .page_views import _e, document, number, words


def csp(frames: tuple[str, ...] | None, post_to: str | None = None) -> str:
    """The pages' policy with the LMS (``frames``: the origins it shows quizgen from) as the
    only frame ancestors besides this server. A page for no known LMS (a refusal, an error:
    a sentence, no form) may be framed by any, so the LMS that framed it shows why."""
    ancestors = " ".join(["'self'", *frames]) if frames is not None else "*"
    form = "'self'"
    if post_to:
        parts = urlsplit(post_to)
        form += f" {parts.scheme}://{parts.netloc}"
    return (f"default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; form-action {form}; "
            f"frame-ancestors {ancestors}; base-uri 'none'")


def framed(response: HTMLResponse, frames: tuple[str, ...] | None, post_to: str | None = None) -> HTMLResponse:
    """``response`` with the LMS's frame policy (service.middleware then adds no stricter one)."""
    response.headers["content-security-policy"] = csp(frames, post_to)
    return response


def _w(lang: str) -> dict[str, Any]:
    return words(lang)["lti"]


def refused_page(lang: str, reason: str, status: int) -> HTMLResponse:
    w = _w(lang)
    sentence = w["refused"].get(reason, w["refused"]["bad_token"])
    body = (f"<h1>{_e(w['refused_heading'])}</h1><div class=\"alert\" role=\"alert\"><p>{_e(sentence)}</p></div>"
            f"<p>{_e(w['refused_hint'])}</p>")
    return document(w["refused_heading"], body, lang, status, home=False)


def window_page(lang: str, relogin: str) -> HTMLResponse:
    w = _w(lang)
    body = (f"<h1>{_e(w['window_heading'])}</h1><p>{_e(w['window_text'])}</p>"
            f'<p><a href="login?{_e(relogin)}" target="_blank" rel="noopener">{_e(w["window_button"])}</a></p>')
    return document(w["window_heading"], body, lang, 200, home=False)


def unmatched_page(lang: str, name: str | None) -> HTMLResponse:
    w = _w(lang)
    who = f"<p class=\"meta\">{_e(name)}</p>" if name else ""
    body = f"<h1>{_e(w['unmatched_heading'])}</h1>{who}<p>{_e(w['unmatched_text'])}</p>"
    return document(w["unmatched_heading"], body, lang, 403, home=False)


def progress_page(progress: Progress) -> HTMLResponse:
    lang = progress.language
    w = _w(lang)
    head = (f"<tr><th>{_e(w['progress_student'])}</th><th>{_e(w['progress_name'])}</th>"
            f"<th>{_e(w['progress_attempts'])}</th><th>{_e(w['progress_score'])}</th>"
            f"<th>{_e(w['progress_lms'])}</th></tr>")
    rows = []
    for r in progress.rows:
        score = f"{number(r.score)} / {number(r.max_score or 0)}" if r.score is not None else "—"
        state = w.get(f"lms_{r.lms}", r.lms)
        title = f' title="{_e(r.error)}"' if r.error else ""
        rows.append(f"<tr><td>{_e(r.student)}</td><td>{_e(r.name)}</td><td>{r.attempts}</td><td>{_e(score)}</td>"
                    f'<td class="{"wrong" if r.lms == "failed" else ""}"{title}>{_e(state)}</td></tr>')
    body = (f"<h1>{_e(progress.title)}</h1><p class=\"meta\">{_e(w['progress_heading'])} · "
            f"{_e(w['progress_line'].format(submitted=progress.submitted, students=len(progress.rows)))}</p>"
            f'<table class="results">{head}{"".join(rows)}</table>')
    return document(progress.title, body, lang, 200, home=False)


def deep_link_page(lang: str, launch: DeepLinkLaunch) -> HTMLResponse:
    w = _w(lang)
    items = []
    for quiz_id, title, points in launch.quizzes:
        items.append(f'<form method="post" action="deep-link" class="q"><input type="hidden" name="credential" '
                     f'value="{_e(launch.credential)}"><input type="hidden" name="quiz" value="{quiz_id}">'
                     f'<input type="hidden" name="lang" value="{_e(lang)}">'
                     f"<h2>{quiz_id}. {_e(title)}</h2><p class=\"meta\">{_e(w['deep_points'].format(points=points))}"
                     f'</p><button type="submit">{_e(w["deep_choose"])}</button></form>')
    body = f"<h1>{_e(w['deep_heading'])}</h1><p>{_e(w['deep_intro'])}</p>{''.join(items)}"
    return document(w["deep_heading"], body, lang, 200, home=False)


def deep_link_return_page(lang: str, response: DeepLinkResponse) -> HTMLResponse:
    """The signed response, posted to the LMS by the instructor's press (no script runs here)."""
    w = _w(lang)
    body = (f"<h1>{_e(w['deep_heading'])}</h1><p>{_e(w['deep_confirm_intro'])}</p>"
            f'<form method="post" action="{_e(response.return_url)}">'
            f'<input type="hidden" name="JWT" value="{_e(response.jwt)}">'
            f'<button type="submit">{_e(w["deep_confirm"].format(title=response.title))}</button></form>')
    return document(w["deep_heading"], body, lang, 200, home=False)


def index_page(lang: str) -> HTMLResponse:
    w = _w(lang)
    return document("quizgen", f"<h1>quizgen</h1><p>{_e(w['index_text'])}</p>", lang, 200, home=False)
