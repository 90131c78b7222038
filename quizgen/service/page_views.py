"""The HTML of the students' page: the login form, a student's questions, the review
step, the receipt and the error page, each a whole document in one language (ko or en).

Everything shown passes through ``_e`` (titles, student ids, answers and messages can
hold ``<script>``, quotes, ``&`` or Hangul), except question prompts, which are Markdown
rendered with raw HTML off (service.prompt_html): prose in the page's font, code in code
blocks, nothing a prompt holds ever markup. The pages work with a keyboard and a screen
reader (WCAG 2.2 AA, checked with axe-core): every field is named by its question and
part, its format hint tied to it, a refusal's title starts with it and focus goes to
what needs fixing, and Enter in a field never spends an attempt (it opens the review
step; only the review page's own button submits). The documents load nothing
but a Hangul font from the same server (for machines without one), and links and
form actions are relative, so the page also works behind a reverse proxy under a
path prefix. What the page may show of a result is decided by the library (the
response of ``submit_attempt`` is already filtered by the quiz's feedback policy);
these functions only draw it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import HTMLResponse

from ..classroom.answersheets import Blank
from ..classroom.attempts import MAX_ANSWER_CHARS, Submitted
from ..classroom.policies import attempts_left, counting_rule, refuse_if_closed
from ..classroom.submissions import StudentQuestion, StudentQuiz
from ..clock import show
from ..questions.prompts import answer_hint, field_hint, prompt_sections
from ..resources import load_json, message
from .prompt_html import prompt_html
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
.meta{color:#4d5666}.rules{margin:.4rem 0 1rem}.rules th{white-space:nowrap}
.note{background:#fff8e1;border-left:4px solid #c9a227;padding:.5rem .8rem}
.fielderr{color:#a1261b;margin:.2rem 0 0;font-size:.95rem}
.alert{background:#fdecea;border-left:4px solid #a1261b;padding:.5rem .8rem}
.alert p{margin:.2rem 0}.ok{color:#176b32}
.detail{color:#4d5666;font-size:.9rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{padding:.25rem .7rem .25rem 0;text-align:left;
vertical-align:top}
.results tr.qrow{border-top:1px solid #d5dae1}.results tr.qrow th{white-space:nowrap}
.results code{white-space:pre-wrap;overflow-wrap:break-word;word-break:normal}.summary th{white-space:nowrap}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.results td.part{padding-left:1rem;color:#4d5666}
.right{color:#176b32}.wrong{color:#a1261b}.slip{color:#4d5666;font-size:.93rem}
.prompt p{margin:.45rem 0}.prompt ol,.prompt ul{margin:.45rem 0;padding-left:1.6rem}
.prompt pre code{font-size:inherit}.field{margin-bottom:.2rem}
.hint{color:#4d5666;font-size:.9rem;margin:.2rem 0 0}
.results caption{text-align:left;font-weight:600;padding:.3rem 0}.results th .part{font-weight:400}
.results thead th{border-bottom:1px solid #8a94a3}
.actions{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}
button.primary{background:#1d4f91;color:#fff;border:1px solid #1d4f91;border-radius:3px}
:focus-visible{outline:3px solid #1d4f91;outline-offset:2px}
"""


_UNDRAWABLE = re.compile("[\x00\ud800-\udfff]")


def _e(value: Any) -> str:
    """``value`` as HTML text or an attribute value (quotes escaped too); NUL and lone
    surrogates, which no HTML document may hold (and UTF-8 cannot encode), become U+FFFD
    as a browser would show them."""
    return html.escape(_UNDRAWABLE.sub("\ufffd", str(value)), quote=True)


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
    kind: str  # ``count``, ``shape`` or ``memory``
    label: str
    hint: str  # how the answer is written, read out with the field (aria-describedby)

    @property
    def key(self) -> str:
        """The answer's key as the library takes it: ``3``, ``3.2``."""
        return self.name[2:]


def _labels(q: StudentQuestion, lang: str) -> list[str]:
    return [part.get("label", {}).get(lang) or part["key"] for part in q.response.get("parts") or []]


def answer_fields(view: StudentQuiz) -> dict[int, list[AnswerField]]:
    """Each question's inputs, by question number, in the quiz's language."""
    w = words(view.language)
    lang = view.language
    out: dict[int, list[AnswerField]] = {}
    for q in view.questions:
        hints = prompt_sections(q.prompt, [])[1]  # the question's own "how to write it" lines
        if q.response.get("type") == "parts":
            out[q.slot] = [AnswerField(f"a:{q.slot}.{n}", f"a{q.slot}_{n}", q.slot, n, part["key"], part["type"],
                                       label, field_hint(hints, part["type"], lang))
                           for n, (part, label) in enumerate(zip(q.response["parts"], _labels(q, lang)), start=1)]
        else:
            kind = q.response.get("type", "count")
            hint = " ".join(hints) or answer_hint(lang, kind)
            out[q.slot] = [AnswerField(f"a:{q.slot}", f"a{q.slot}", q.slot, None, None, kind, w["answer"], hint)]
    return out


def field_title(f: AnswerField, lang: str) -> str:
    """How a message names an input: ``문제 3 (2)``."""
    base = f"{words(lang)['question']} {f.slot}"
    return base if f.part is None else f"{base} ({f.part})"


def _field_name(f: AnswerField, lang: str) -> str:
    """A field's label as HTML: the part's own wording, and, for a screen reader (the
    label is the field's name, heard out of the question's context), the question first:
    "문제 4 (2) 1번째 층 Embedding의 Param #"."""
    prefix = f"{words(lang)['question']} {f.slot} "
    shown = f.label if f.part is None else f"({f.part}) {f.label}"
    return f'<span class="sr">{_e(prefix)}</span>{_e(shown)}'


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

_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)")


def _first_sentence(text: str) -> str:
    m = _SENTENCE.match(text)
    return m.group(1) if m else text


def _titled(notice: Notice | None, title: str) -> str:
    """A page's title, starting with what went wrong when something did (a screen reader
    announces the title first when the page loads)."""
    return f"{_first_sentence(notice.message)} — {title}" if notice is not None else title


def document(title: str, body: str, lang: str, status: int = 200, home: bool = True) -> HTMLResponse:
    """A whole page; ``home`` adds the link back to the first page."""
    nav = (f'<nav aria-label="{_e(words(lang)["nav_label"])}"><a href="./?lang={_e(lang)}">'
           f'{_e(words(lang)["start_over"])}</a></nav>') if home else ""
    doc = (f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<meta name="referrer" content="no-referrer">'
           f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{nav}<main>{body}</main></body></html>")
    return HTMLResponse(doc, status_code=status)


def _alert(notice: Notice | None, extra: str = "", focus: bool = False) -> str:
    """The notice, and either ``extra`` (a list of marked answers) or the notice's detail;
    ``focus``: the page opens with focus on it (no field to put it on)."""
    if notice is None:
        return ""
    detail = f'<p class="detail">{_e(notice.detail)}</p>' if notice.detail and not extra else ""
    focused = ' tabindex="-1" autofocus' if focus else ""
    return (f'<div class="alert" role="alert" id="alert"{focused}><p>{_e(notice.message)}</p>'
            f"{detail}{extra}</div>")


def _hidden(**values: Any) -> str:
    return "".join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in values.items())


def _hidden_answers(values: Mapping[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in values.items())


# ---------------------------------------------------------------- the first page

# The field a refusal is about: its input is marked and focused.
_LOGIN_FIELD = {"unauthorized": "token", "unstorable_text": "student", "not_found": "quiz", "not_on_quiz": "quiz"}


def login_page(lang: str, student: str = "", quiz: str = "", token: str = "", notice: Notice | None = None,
               status: int = 200, code: str | None = None) -> HTMLResponse:
    """Student id, token and quiz number, posted to ``quiz``; ``token`` is drawn back
    only when the error was not about it. ``code``: the refusal's, which marks the field
    it is about (``aria-invalid``, described by the alert) and puts focus there."""
    w = words(lang)
    switch = " · ".join(f'<a href="./?lang={code}" lang="{code}">{_e(words(code)["lang_name"])}</a>'
                        for code in LANGS if code != lang)
    bad = _LOGIN_FIELD.get(code or "")
    focus = bad or ("token" if notice is not None and student else "student")
    fields = [("student", "text", w["student"], student, 'autocomplete="username" maxlength="64" '
               'autocapitalize="off" spellcheck="false"'),
              ("token", "password", w["token"], token, 'autocomplete="current-password" maxlength="200"'),
              ("quiz", "text", w["quiz"], quiz, 'inputmode="numeric" maxlength="12" autocomplete="off"')]
    marked = ' aria-invalid="true" aria-describedby="alert"'
    inputs = "".join(f'<label for="{name}">{_e(label)}</label><input type="{kind}" id="{name}" name="{name}" '
                     f'required {extra} value="{_e(value)}"{marked if name == bad else ""}'
                     f'{" autofocus" if name == focus else ""}>'
                     for name, kind, label, value, extra in fields)
    body = (f"<h1>{_e(w['login_heading'])}</h1><p>{_e(w['login_intro'])}</p>{_alert(notice)}"
            f'<form method="post" action="quiz">{_hidden(lang=lang)}{inputs}'
            f'<button type="submit">{_e(w["open"])}</button></form><p class="meta">{switch}</p>')
    return document(_titled(notice, w["title"]), body, lang, status, home=False)


# ---------------------------------------------------------------- the questions

def _rules(view: StudentQuiz) -> str:
    w = words(view.language)
    zone = view.time_zone
    rows = [(w["deadline"], show(view.deadline, zone) if view.deadline else w["no_deadline"])]
    if view.deadline is not None and view.late_until is not None:
        rows.append((w["late_until"], show(view.late_until, zone)))
    rows.append((w["attempts"], _attempts_text(view)))
    rows.append((w["policy"], w.get(f"policy_{view.feedback}", view.feedback)))
    rows.append((w["counting"], counting_rule(view.counting, view.language)))
    return ('<table class="rules">' + "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>'
                                              for k, v in rows) + "</table>")


def _attempts_text(view: StudentQuiz) -> str:
    w = words(view.language)
    left = attempts_left(view.attempt_limit, view.attempts_used)
    return (w["attempts_unlimited"].format(used=view.attempts_used) if left is None else
            w["attempts_limited"].format(used=view.attempts_used, limit=view.attempt_limit, left=left))


def _state(view: StudentQuiz) -> str:
    """Why the quiz takes no submission now, or that one now would be late."""
    w = words(view.language)
    deadline = show(view.deadline, view.time_zone) if view.deadline else ""
    if not view.open:
        if view.rules.archived:  # the refusal submit gives, in the quiz's language
            text = message(view.language, "archived", quiz=view.quiz_id)
        elif attempts_left(view.attempt_limit, view.attempts_used) == 0:
            text = w["closed_attempts"].format(limit=view.attempt_limit)
        else:
            text = w["closed_deadline"].format(deadline=deadline)
        return f'<p class="alert" role="status">{_e(text)}</p>'
    late = refuse_if_closed(view.rules, view.server_time)
    return f'<p class="note" role="status">{_e(w["late_now"].format(deadline=deadline))}</p>' if late else ""


def _heading(view: StudentQuiz) -> str:
    w = words(view.language)
    return (f"<h1>{_e(view.title)}</h1><p class=\"meta\">"
            f"{_e(w['quiz_line'].format(quiz=view.quiz_id, student=view.student))}</p>{_rules(view)}"
            + (f'<p class="note">{_e(view.extension_line())}</p>' if view.rules.extension else ""))


_EXAMPLE_SHAPE = re.compile(r"\((?:None|\d+)(?:, *(?:None|\d+))*,?\)")


def _placeholder(field: AnswerField, w: Mapping[str, Any]) -> str:
    """The example in an empty field: a shape's is the one its hint gives (a fixed batch's
    example has its number, never None), others the page's general one."""
    general = str(w.get("placeholder_" + field.kind, ""))
    if field.kind == "shape":
        examples = _EXAMPLE_SHAPE.findall(field.hint)
        if examples:
            return general.replace("(None, 30, 100)", examples[-1])
    return general


def _question(q: StudentQuestion, fields: list[AnswerField], draft: Draft, lang: str, focus: str | None) -> str:
    """A question: its prompt rendered (prose as text, code as code, without the part
    list and hint the fields carry), then one labelled field per answer or part."""
    w = words(lang)
    body, _ = prompt_sections(q.prompt, _labels(q, lang))
    out = [f'<section class="q" aria-labelledby="q{q.slot}"><h2 id="q{q.slot}">{_e(w["question"])} {q.slot} '
           f'<span class="meta">({_e(w["points"].format(points=q.points))})</span></h2>'
           f'<div class="prompt">{prompt_html(body)}</div>']
    multi = fields[0].part is not None
    if multi:
        out.append(f'<fieldset><legend class="sr">{_e(w["question"])} {q.slot}</legend>')
    for f in fields:
        error = draft.errors.get(f.name)
        described = f"{f.dom_id}_hint" + (f" {f.dom_id}_err" if error else "")
        marks = ' aria-invalid="true"' if error else ""
        out.append(f'<div class="field"><label for="{f.dom_id}">{_field_name(f, lang)}</label>'
                   f'<input type="text" id="{f.dom_id}" name="{_e(f.name)}" maxlength="{MAX_ANSWER_CHARS}" '
                   f'autocomplete="off" autocapitalize="off" spellcheck="false" '
                   f'placeholder="{_e(_placeholder(f, w))}" '
                   f'value="{_e(draft.values.get(f.name, ""))}" aria-describedby="{described}"{marks}'
                   f'{" autofocus" if f.name == focus else ""}>'
                   f'<p class="hint" id="{f.dom_id}_hint">{_e(f.hint)}</p>')
        if error:
            out.append(f'<p class="fielderr" id="{f.dom_id}_err">{_e(w["bad_answer"])}: {_e(error)}</p>')
        out.append("</div>")
    if multi:
        out.append("</fieldset>")
    out.append("</section>")
    return "".join(out)


def questions_page(view: StudentQuiz, token: str, key: str, draft: Draft | None = None,
                   status: int = 200, home: bool = True) -> HTMLResponse:
    """The student's questions and, while the quiz is open, the form that sends them to
    the review step (carrying the idempotency key minted when this form was first
    drawn). Pressing Enter in a field only reviews: no attempt is spent before the
    review page's own button. After a refusal the title starts with it and focus is on
    the first answer to fix (or on the alert). ``home``: the link back to the first page (not
    on a page an LMS launched: its way back is the LMS)."""
    w = words(view.language)
    draft = draft or Draft()
    lang = view.language
    fields = answer_fields(view)
    ordered = [f for fs in fields.values() for f in fs]
    summary = ""
    focus = next((f.name for f in ordered if f.name in draft.errors), None)
    title = view.title
    if draft.errors:
        by_name = {f.name: f for f in ordered}
        items = "".join(f'<li><a href="#{by_name[n].dom_id}">{_e(field_title(by_name[n], lang))}</a>: '
                        f"{_e(message)}</li>" for n, message in draft.errors.items() if n in by_name)
        summary = f"<ul>{items}</ul>"
        title = f"{w['fix_title'].format(count=len(draft.errors))} — {view.title}"
    elif draft.notice is not None:
        title = _titled(draft.notice, view.title)
    head = _heading(view) + _alert(draft.notice, summary, focus=draft.notice is not None and focus is None)
    head += _state(view)
    if not view.open:
        return document(title, head, lang, status, home)
    out = ['<form method="post" action="review">',
           _hidden(student=view.student, token=token, quiz=view.quiz_id, lang=lang, idempotency_key=key)]
    out += [_question(q, fields[q.slot], draft, lang, focus) for q in view.questions]
    out.append(f'<p class="meta" id="review_hint">{_e(w["hint"])}</p>'
               f'<button type="submit" aria-describedby="review_hint">{_e(w["review"])}</button></form>')
    return document(title, head + "".join(out), lang, status, home)


def again_form(student: str, quiz: int | str, token: str, lang: str) -> str:
    """A button to a fresh form (a new idempotency key: a new attempt)."""
    return (f'<form method="post" action="quiz">{_hidden(student=student, token=token, quiz=quiz, lang=lang)}'
            f'<button type="submit">{_e(words(lang)["again"])}</button></form>')


# ---------------------------------------------------------------- the review step

def review_page(view: StudentQuiz, token: str, key: str, values: Mapping[str, str],
                blanks: list[Blank], home: bool = True) -> HTMLResponse:
    """The answers shown back before anything counts: which questions and parts are
    blank (asked about by name), and two buttons: submit (the only thing on the whole
    page that spends an attempt; it carries the blanks the student saw, so a submission
    with others is shown here again instead of taken) and back to the answers."""
    w = words(view.language)
    lang = view.language
    fields = answer_fields(view)
    blank_keys = {b.key for b in blanks}
    rows = []
    for fs in fields.values():
        if fs[0].part is not None:  # the question's own row, then its parts'
            rows.append(f'<tr class="qrow"><th scope="row">{_e(w["question"])} {fs[0].slot}</th><td></td></tr>')
        for f in fs:
            typed = values.get(f.name, "").strip()
            shown = (f"<code>{_e(values.get(f.name, ''))}</code>" if typed
                     else f'<span class="wrong">{_e(w["blank"])}</span>')
            header = (f'<span class="part">{_field_name(f, lang)}</span>' if f.part is not None
                      else _e(field_title(f, lang)))
            start = "<tr>" if f.part is not None else '<tr class="qrow">'
            rows.append(f'{start}<th scope="row">{header}</th><td>{shown}</td></tr>')
    table = (f'<table class="results"><caption>{_e(w["review_caption"])}</caption><thead><tr>'
             f'<th scope="col">{_e(w["question_col"])}</th><th scope="col">{_e(w["answer"])}</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    if blanks:
        named = _blank_names(blanks, fields, lang)
        ask = (f'<div class="note" role="status" id="blanks"><p>'
               f'{_e(w["blanks_note"].format(count=len(blanks), blanks=named))}</p></div>')
        button = w["submit_blanks"].format(count=len(blanks))
        title = f"{w['blanks_title'].format(count=len(blanks))} — {view.title}"
    else:
        ask = f'<p role="status">{_e(w["all_answered"])}</p>'
        button = w["submit"]
        title = f"{w['review_heading']} — {view.title}"
    who = _hidden(student=view.student, token=token, quiz=view.quiz_id, lang=lang, idempotency_key=key)
    answers = _hidden_answers(values)
    body = (f"<h1>{_e(w['review_heading'])}</h1><p class=\"meta\">{_e(view.title)} · "
            f"{_e(w['quiz_line'].format(quiz=view.quiz_id, student=view.student))}</p>{_state(view)}{ask}{table}"
            f'<p id="spends">{_e(w["review_spends"].format(attempts=_attempts_text(view)))}</p>'
            f'<div class="actions"><form method="post" action="submit">{who}{answers}'
            f'{_hidden(blank=",".join(sorted(blank_keys)))}'
            f'<button type="submit" class="primary" aria-describedby="spends">{_e(button)}</button></form>'
            f'<form method="post" action="quiz">{who}{answers}'
            f'<button type="submit">{_e(w["edit"])}</button></form></div>')
    return document(title, body, lang, home=home)


def _blank_names(blanks: list[Blank], fields: dict[int, list[AnswerField]], lang: str) -> str:
    """The blanks as a sentence names them: a question whose every part is blank by its
    number alone, others with their blank parts, runs shortened ("문제 3의 (2)–(7)")."""
    w = words(lang)
    by_slot: dict[int, list[int]] = {}
    for b in blanks:
        by_slot.setdefault(b.slot, []).append(b.part or 0)
    named = []
    for slot, parts in by_slot.items():
        if parts == [0] or len(parts) == len(fields.get(slot, [])):
            named.append(f"{w['question']} {slot}")
            continue
        runs: list[list[int]] = []
        for n in parts:
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        text = ", ".join(f"({r[0]})" if len(r) == 1 else f"({r[0]})–({r[-1]})" for r in runs)
        named.append(w["blank_parts_of"].format(slot=slot, parts=text))
    return ", ".join(named)


def confirmed_blanks(form: Mapping[str, str]) -> list[str]:
    """The blanks the student was shown on the review page and submitted anyway."""
    return sorted(k for k in form.get("blank", "").split(",") if k)


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
    """The student's answers and, as the response allows, each one's result: a row per
    question and per part, each headed by what it is (a part by its question, number and
    wording); a question left blank is one line saying so."""
    w = words(lang)
    graded = {q["slot"]: q for q in (done.response.get("questions") or [])}
    shows = bool(graded)
    rows = []

    def row(header: str, answer: str, result: str, opens: bool = False) -> str:
        last = f"<td>{result}</td>" if shows else ""
        start = '<tr class="qrow">' if opens else "<tr>"
        return f'{start}<th scope="row">{header}</th><td>{answer}</td>{last}</tr>'

    for slot in sorted(set(fields) | set(graded)):
        fs, q = fields.get(slot, []), graded.get(slot)
        typed = {f.name: values.get(f.name, "").strip() for f in fs}
        title = _e(f"{w['question']} {slot}")
        if q is None and not any(typed.values()):
            rows.append(row(title, f'<span class="meta">{_e(w["unanswered"])}</span>', "", opens=True))
            continue
        verdict = ""
        if q is not None:
            cls = "right" if q["correct"] else "wrong"
            verdict = (f'<span class="{cls}">{_e(w["right"] if q["correct"] else w["wrong"])}</span> · '
                       f'{_e(w["points"].format(points=number(q["score"]) + "/" + str(q["points"])))}')
        single = not fs or fs[0].part is None
        answer = f"<code>{_e(values.get(fs[0].name, ''))}</code>" if fs and single else ""
        if single and q is not None and q.get("feedback"):
            verdict += f'<div class="slip">{_e(q["feedback"])}</div>'
        rows.append(row(title, answer, verdict, opens=True))
        if single:
            continue
        parts = (q or {}).get("parts") or {}
        for f in fs:
            result = ""
            if q is not None and f.part_key in parts:
                cls, word, slip = _part_result(parts[f.part_key], lang)
                result = f'<span class="{cls}">{_e(word)}</span>'
                if slip:
                    result += f'<div class="slip">{_e(slip)}</div>'
            shown = f"<code>{_e(values.get(f.name, ''))}</code>" if typed[f.name] else _e(w["blank"])
            rows.append(row(f'<span class="part">{_field_name(f, lang)}</span>', shown, result))
    head = (f'<th scope="col">{_e(w["question_col"])}</th><th scope="col">{_e(w["your_answers"])}</th>'
            + (f'<th scope="col">{_e(w["result"])}</th>' if shows else ""))
    return (f'<table class="results"><caption class="sr">{_e(w["results_caption"])}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


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
        rows.append((w["attempts_after"], _attempts_text(view)))
    late = r.get("late")
    out.append('<table class="summary">' + "".join(
        f'<tr><th scope="row">{_e(k)}</th><td class="{"wrong" if late and k == w["received"] else ""}">{_e(v)}</td>'
        "</tr>" for k, v in rows) + "</table>")
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
    title = w["receipt_heading"] + (f" — {view.title}" if view is not None else "")
    return document(title, "".join(out), lang, home=home)


# ---------------------------------------------------------------- errors

def error_page(lang: str, notice: Notice, status: int) -> HTMLResponse:
    """An error that no form can be drawn again for: the reason and the way back."""
    w = words(lang)
    body = (f"<h1>{_e(w['error_heading'])}</h1>{_alert(notice)}"
            f'<p><a href="./?lang={_e(lang)}">{_e(w["start_over"])}</a></p>')
    return document(_titled(notice, w["error_heading"]), body, lang, status, home=False)
