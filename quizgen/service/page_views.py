"""The HTML of the students' page: the login form, a student's questions, the receipt
and the error page, each a whole document in one language (ko or en).

Everything shown passes through ``_e`` (titles, prompts, student ids, answers and
messages can hold ``<script>``, quotes, ``&`` or Hangul), the documents load nothing
but a Hangul font from the same server (for machines without one), and links and
form actions are relative, so the page also works behind a reverse proxy under a
path prefix. What the page may show of a result is decided by the library (the
response of ``submit_attempt`` is already filtered by the quiz's feedback policy);
these functions only draw it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import HTMLResponse

from ..classroom.attempts import MAX_ANSWER_CHARS, Submitted
from ..classroom.policies import attempts_left, refuse_if_closed
from ..classroom.submissions import StudentQuiz
from ..clock import show
from ..resources import load_json
from .webfont import UNICODE_RANGE

LANGS = ("ko", "en")
FONT_PATH = "fonts/hangul.woff"  # relative: served by pages.hangul_font

# Hangul comes from the student's own fonts when they have one (Windows, macOS, most
# Linux desktops); the served NanumGothic is fetched only by a browser that has none.
# No ``system-ui``: Chromium on Linux then draws bold Hangul as empty boxes instead of
# falling through to the next family.
_STYLE = """
@font-face{font-family:QuizgenHangul;src:local('NanumGothic'),local('Nanum Gothic'),url(""" + FONT_PATH + """)
format('woff');unicode-range:""" + UNICODE_RANGE + """}
body{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI','Malgun Gothic','Apple SD Gothic Neo',
'Noto Sans CJK KR','Noto Sans KR',NanumGothic,QuizgenHangul,Roboto,'Helvetica Neue',Arial,sans-serif;
max-width:46rem;margin:1.5rem auto;padding:0 1rem;line-height:1.55;color:#1d2430}
:lang(ko){word-break:keep-all;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin:.6rem 0}h2{font-size:1.15rem;margin:.2rem 0 .4rem}
nav{font-size:.9rem}nav a{color:#33507a}
label{display:block;margin:.7rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{width:100%;padding:.45rem;font-size:1rem;box-sizing:border-box;
border:1px solid #8a94a3;border-radius:3px}
input[aria-invalid=true]{border:2px solid #a1261b;background:#fff6f5}
button,input{font:inherit}button{margin-top:1rem;padding:.55rem 1.4rem;font-size:1rem;cursor:pointer}
pre{background:#f4f6f8;padding:.8rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;
font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,QuizgenHangul,monospace;font-size:.92rem}
code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,QuizgenHangul,monospace}
fieldset{border:0;padding:0;margin:0}legend{padding:0}
.q{border-top:1px solid #d5dae1;margin-top:1.4rem;padding-top:.8rem}
.meta{color:#4d5666}.rules{margin:.4rem 0 1rem}
.note{background:#fff8e1;border-left:4px solid #c9a227;padding:.5rem .8rem}
.fielderr{color:#a1261b;margin:.2rem 0 0;font-size:.95rem}
.alert{background:#fdecea;border-left:4px solid #a1261b;padding:.5rem .8rem}
.alert p{margin:.2rem 0}.ok{color:#176b32}
.detail{color:#4d5666;font-size:.9rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{padding:.25rem .7rem .25rem 0;text-align:left;
vertical-align:top}
.results tr.qrow{border-top:1px solid #d5dae1}.results th{white-space:nowrap}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.results td.part{padding-left:1rem;color:#4d5666}
.right{color:#176b32}.wrong{color:#a1261b}.slip{color:#4d5666;font-size:.93rem}
"""


def _e(value: Any) -> str:
    """``value`` as HTML text or an attribute value (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def words(lang: str) -> dict[str, Any]:
    """The page's wording in ``lang`` (data/pages.json); English for a language it lacks."""
    table = load_json("pages.json")
    return table.get(lang, table["en"])


def number(value: float) -> str:
    """A score as people write it: ``7``, ``7.5``, ``7.43``."""
    return f"{round(value, 2):g}"


@dataclass(frozen=True)
class AnswerField:
    """One input of the questions form: a question's answer, or one part of it."""

    name: str  # the form field's name: ``a:3`` or ``a:3.2`` (``quizgen submit --answer 3.2=…``)
    dom_id: str
    slot: int
    part: int | None  # 1-based, for a multi-part question
    part_key: str | None  # the part's key in graded results (``L1.shape``)
    kind: str  # ``count`` or ``shape``
    label: str


def answer_fields(view: StudentQuiz) -> dict[int, list[AnswerField]]:
    """Each question's inputs, by question number, in the quiz's language."""
    w = words(view.language)
    out: dict[int, list[AnswerField]] = {}
    for q in view.questions:
        if q.response.get("type") == "parts":
            out[q.slot] = [AnswerField(f"a:{q.slot}.{n}", f"a{q.slot}_{n}", q.slot, n, part["key"], part["type"],
                                       part.get("label", {}).get(view.language) or part["key"])
                           for n, part in enumerate(q.response["parts"], start=1)]
        else:
            out[q.slot] = [AnswerField(f"a:{q.slot}", f"a{q.slot}", q.slot, None, None, q.response.get("type", "count"),
                                       w["answer"])]
    return out


def field_title(f: AnswerField, lang: str) -> str:
    """How a message names an input: ``문제 3 (2)``."""
    base = f"{words(lang)['question']} {f.slot}"
    return base if f.part is None else f"{base} ({f.part})"


@dataclass(frozen=True)
class Notice:
    """One sentence above a form (in the page's language) and, where it helps, the
    library's own sentence as detail."""

    message: str
    detail: str | None = None


@dataclass(frozen=True)
class Draft:
    """What the student typed, drawn again when their submission could not be taken,
    with the reason next to each answer the library could not read."""

    values: Mapping[str, str] = field(default_factory=dict)  # field name → text
    errors: Mapping[str, str] = field(default_factory=dict)  # field name → why it cannot be read
    notice: Notice | None = None


# ---------------------------------------------------------------- the document

def document(title: str, body: str, lang: str, status: int = 200, home: bool = True) -> HTMLResponse:
    """A whole page; ``home`` adds the link back to the first page."""
    nav = f'<nav><a href="./?lang={_e(lang)}">{_e(words(lang)["start_over"])}</a></nav>' if home else ""
    doc = (f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<meta name="referrer" content="no-referrer">'
           f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{nav}<main>{body}</main></body></html>")
    return HTMLResponse(doc, status_code=status)


def _alert(notice: Notice | None, extra: str = "") -> str:
    """The notice, and either ``extra`` (a list of marked answers) or the notice's detail."""
    if notice is None:
        return ""
    detail = f'<p class="detail">{_e(notice.detail)}</p>' if notice.detail and not extra else ""
    return f'<div class="alert" role="alert"><p>{_e(notice.message)}</p>{detail}{extra}</div>'


def _hidden(**values: Any) -> str:
    return "".join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in values.items())


# ---------------------------------------------------------------- the first page

def login_page(lang: str, student: str = "", quiz: str = "", token: str = "", notice: Notice | None = None,
               status: int = 200) -> HTMLResponse:
    """Student id, token and quiz number, posted to ``quiz``; ``token`` is drawn back
    only when the error was not about it."""
    w = words(lang)
    switch = " · ".join(f'<a href="./?lang={code}" lang="{code}">{_e(words(code)["lang_name"])}</a>'
                        for code in LANGS if code != lang)
    focus = "token" if notice is not None and student else "student"
    fields = [("student", "text", w["student"], student, 'autocomplete="username" maxlength="64" '
               'autocapitalize="off" spellcheck="false"'),
              ("token", "password", w["token"], token, 'autocomplete="current-password" maxlength="200"'),
              ("quiz", "text", w["quiz"], quiz, 'inputmode="numeric" maxlength="12" autocomplete="off"')]
    inputs = "".join(f'<label for="{name}">{_e(label)}</label><input type="{kind}" id="{name}" name="{name}" '
                     f'required {extra} value="{_e(value)}"{" autofocus" if name == focus else ""}>'
                     for name, kind, label, value, extra in fields)
    body = (f"<h1>{_e(w['login_heading'])}</h1><p>{_e(w['login_intro'])}</p>{_alert(notice)}"
            f'<form method="post" action="quiz">{_hidden(lang=lang)}{inputs}'
            f'<button type="submit">{_e(w["open"])}</button></form><p class="meta">{switch}</p>')
    return document(w["title"], body, lang, status, home=False)


# ---------------------------------------------------------------- the questions

def _rules(view: StudentQuiz) -> str:
    w = words(view.language)
    zone = view.time_zone
    rows = [(w["deadline"], show(view.deadline, zone) if view.deadline else w["no_deadline"])]
    if view.deadline is not None and view.late_until is not None:
        rows.append((w["late_until"], show(view.late_until, zone)))
    left = attempts_left(view.attempt_limit, view.attempts_used)
    rows.append((w["attempts"], w["attempts_unlimited"].format(used=view.attempts_used) if left is None else
                 w["attempts_limited"].format(used=view.attempts_used, limit=view.attempt_limit, left=left)))
    rows.append((w["policy"], w.get(f"policy_{view.feedback}", view.feedback)))
    return ('<table class="rules">' + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
            + "</table>")


def _state(view: StudentQuiz) -> str:
    """Why the quiz takes no submission now, or that one now would be late."""
    w = words(view.language)
    deadline = show(view.deadline, view.time_zone) if view.deadline else ""
    if not view.open:
        if attempts_left(view.attempt_limit, view.attempts_used) == 0:
            text = w["closed_attempts"].format(limit=view.attempt_limit)
        else:
            text = w["closed_deadline"].format(deadline=deadline)
        return f'<p class="alert" role="status">{_e(text)}</p>'
    late = refuse_if_closed(view.quiz_id, view.deadline, view.time_zone, view.server_time, view.late_until)
    return f'<p class="note" role="status">{_e(w["late_now"].format(deadline=deadline))}</p>' if late else ""


def _heading(view: StudentQuiz) -> str:
    w = words(view.language)
    return (f"<h1>{_e(view.title)}</h1><p class=\"meta\">"
            f"{_e(w['quiz_line'].format(quiz=view.quiz_id, student=view.student))}</p>{_rules(view)}")


def questions_page(view: StudentQuiz, token: str, key: str, draft: Draft | None = None,
                   status: int = 200, home: bool = True) -> HTMLResponse:
    """The student's questions and, while the quiz is open, the form that submits them
    (carrying the idempotency key minted when this form was first drawn). ``home``: the
    link back to the first page (not on a page an LMS launched: its way back is the LMS)."""
    w = words(view.language)
    draft = draft or Draft()
    lang = view.language
    fields = answer_fields(view)
    summary = ""
    if draft.errors:
        by_name = {f.name: f for fs in fields.values() for f in fs}
        items = "".join(f'<li><a href="#{by_name[n].dom_id}">{_e(field_title(by_name[n], lang))}</a>: '
                        f"{_e(message)}</li>" for n, message in draft.errors.items() if n in by_name)
        summary = f"<ul>{items}</ul>"
    head = _heading(view) + _alert(draft.notice, summary) + _state(view)
    if not view.open:
        return document(view.title, head, lang, status, home)
    out = ['<form method="post" action="submit">',
           _hidden(student=view.student, token=token, quiz=view.quiz_id, lang=lang, idempotency_key=key)]
    for q in view.questions:
        out.append(f'<section class="q" aria-labelledby="q{q.slot}"><h2 id="q{q.slot}">{_e(w["question"])} {q.slot} '
                   f'<span class="meta">({_e(w["points"].format(points=q.points))})</span></h2>'
                   f"<pre>{_e(q.prompt)}</pre>")
        parts = fields[q.slot]
        if parts[0].part is not None:
            out.append(f'<fieldset><legend class="sr">{_e(w["question"])} {q.slot}</legend>')
        for f in parts:
            prefix = f"({f.part}) " if f.part is not None else ""
            error = draft.errors.get(f.name)
            described = f' aria-invalid="true" aria-describedby="{f.dom_id}_err"' if error else ""
            out.append(f'<label for="{f.dom_id}">{_e(prefix + f.label)}</label>'
                       f'<input type="text" id="{f.dom_id}" name="{_e(f.name)}" maxlength="{MAX_ANSWER_CHARS}" '
                       f'autocomplete="off" autocapitalize="off" spellcheck="false" '
                       f'placeholder="{_e(w.get("placeholder_" + f.kind, ""))}" '
                       f'value="{_e(draft.values.get(f.name, ""))}"{described}>')
            if error:
                out.append(f'<p class="fielderr" id="{f.dom_id}_err">{_e(w["bad_answer"])}: {_e(error)}</p>')
        if parts[0].part is not None:
            out.append("</fieldset>")
        out.append("</section>")
    out.append(f'<p class="meta">{_e(w["hint"])}</p><button type="submit">{_e(w["submit"])}</button></form>')
    return document(view.title, head + "".join(out), lang, status, home)


def again_form(student: str, quiz: int | str, token: str, lang: str) -> str:
    """A button to a fresh form (a new idempotency key: a new attempt)."""
    return (f'<form method="post" action="quiz">{_hidden(student=student, token=token, quiz=quiz, lang=lang)}'
            f'<button type="submit">{_e(words(lang)["again"])}</button></form>')


# ---------------------------------------------------------------- the receipt

def _part_result(result: Mapping[str, Any], lang: str) -> tuple[str, str, str | None]:
    """(css class, word, slip wording) for a part's result in graded details
    (``{"correct": true}``, ``{"correct": false, "answered": false}``, or a wrong one
    with its ``misconception``)."""
    w = words(lang)
    if result.get("correct"):
        return "right", w["right"], None
    if result.get("answered") is False:
        return "wrong", w["unanswered"], None
    slip = result.get("misconception")
    return "wrong", w["wrong"], load_json("misconceptions.json").get(lang, {}).get(slip) if slip else None


def _results(done: Submitted, fields: dict[int, list[AnswerField]], values: Mapping[str, str], lang: str) -> str:
    """The student's answers and, as the response allows, each one's result; a question
    left blank is one line saying so."""
    w = words(lang)
    graded = {q["slot"]: q for q in (done.response.get("questions") or [])}
    rows = []
    for slot in sorted(set(fields) | set(graded)):
        fs, q = fields.get(slot, []), graded.get(slot)
        typed = {f.name: values.get(f.name, "").strip() for f in fs}
        title = f'<th>{_e(w["question"])} {slot}</th>'
        if q is None and not any(typed.values()):
            rows.append(f'<tr class="qrow">{title}<td class="meta">{_e(w["unanswered"])}</td><td></td></tr>')
            continue
        verdict = ""
        if q is not None:
            cls = "right" if q["correct"] else "wrong"
            verdict = (f'<span class="{cls}">{_e(w["right"] if q["correct"] else w["wrong"])}</span> · '
                       f'{_e(w["points"].format(points=number(q["score"]) + "/" + str(q["points"])))}')
        single = not fs or fs[0].part is None
        answer = f"<code>{_e(values.get(fs[0].name, ''))}</code>" if fs and single else ""
        rows.append(f'<tr class="qrow">{title}<td>{answer}</td><td>{verdict}</td></tr>')
        if single:
            if q is not None and q.get("feedback"):
                rows.append(f'<tr><td></td><td colspan="2" class="slip">{_e(q["feedback"])}</td></tr>')
            continue
        parts = (q or {}).get("parts") or {}
        for f in fs:
            result = ""
            if q is not None and f.part_key in parts:
                cls, word, slip = _part_result(parts[f.part_key], lang)
                result = f'<span class="{cls}">{_e(word)}</span>'
                if slip:
                    result += f'<div class="slip">{_e(slip)}</div>'
            shown = f"<code>{_e(values.get(f.name, ''))}</code>" if typed[f.name] else "—"
            rows.append(f'<tr><td class="part">({f.part})</td><td>{shown}</td><td>{result}</td></tr>')
    head = f"<tr><th></th><th>{_e(w['your_answers'])}</th><th>{_e(w['result']) if graded else ''}</th></tr>"
    return f'<table class="results">{head}{"".join(rows)}</table>'


def receipt_page(done: Submitted, view: StudentQuiz | None, lang: str, token: str,
                 values: Mapping[str, str], home: bool = True) -> HTMLResponse:
    """What the student is told once the attempt is stored (or found stored: a replay);
    ``view`` is the quiz as it stands after it (None if it could not be read again)."""
    w = words(lang)
    r = done.response
    out = [f'<h1 class="ok">{_e(w["receipt_heading"])}</h1>']
    if view is not None:
        out.append(f"<p class=\"meta\">{_e(view.title)} · "
                   f"{_e(w['quiz_line'].format(quiz=view.quiz_id, student=view.student))}</p>")
    if done.replayed:
        out.append(f'<p class="note" role="status">{_e(w["replayed"])}</p>')
    rows = [(w["attempt"], str(r["attempt"])),
            (w["received"], r["received_local"] + " — " + (w["late"] if r.get("late") else w["on_time"])),
            (w["answered"], w["answered_count"].format(count=r["answers"]))]
    if r.get("score") is not None:
        rows.append((w["score"], w["score_value"].format(score=number(r["score"]), max=r["max_score"])))
    if view is not None:
        left = attempts_left(view.attempt_limit, view.attempts_used)
        rows.append((w["attempts_after"], w["attempts_unlimited"].format(used=view.attempts_used) if left is None
                     else w["attempts_limited"].format(used=view.attempts_used, limit=view.attempt_limit, left=left)))
    late = r.get("late")
    out.append('<table class="summary">' + "".join(
        f'<tr><th>{_e(k)}</th><td class="{"wrong" if late and k == w["received"] else ""}">{_e(v)}</td></tr>'
        for k, v in rows) + "</table>")
    if not r.get("graded"):
        out.append(f"<p>{_e(w['graded_later'])}</p>")
    elif r.get("questions") is None:
        out.append(f"<p>{_e(w['score_only'])}</p>")
    out.append(_results(done, answer_fields(view) if view is not None else {}, values, lang))
    if r.get("receipt"):
        out.append(f"<h2>{_e(w['receipt'])}</h2><p class=\"meta\">{_e(w['receipt_hint'])}</p>"
                   f"<pre>{_e(json.dumps(r['receipt'], ensure_ascii=False, indent=1))}</pre>")
    if view is not None and view.open:
        out.append(again_form(view.student, view.quiz_id, token, lang))
    return document(w["receipt_heading"], "".join(out), lang, home=home)


# ---------------------------------------------------------------- errors

def error_page(lang: str, notice: Notice, status: int) -> HTMLResponse:
    """An error that no form can be drawn again for: the reason and the way back."""
    w = words(lang)
    body = (f"<h1>{_e(w['error_heading'])}</h1>{_alert(notice)}"
            f'<p><a href="./?lang={_e(lang)}">{_e(w["start_over"])}</a></p>')
    return document(w["error_heading"], body, lang, status, home=False)
