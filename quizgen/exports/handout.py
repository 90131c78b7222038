"""Printed handouts: one PDF with every student's questions, each student starting on a
new page, and the answer key (a separate PDF, so it never ends up in the students' stack).

A student's pages carry the quiz's title and number, its deadline in the quiz's zone, the
student's name and id, their questions (code in a monospace block), a box for each answer
part, how to submit (the server's URL and a QR code of it: never a token inside a URL),
and, when tokens are printed, a tear-off slip with the token at the bottom of the last
page. Every page's footer names the quiz, the student and the page of that student's
pages ("2/3"), so a dropped stack can be sorted again.

Rendering works from plain records (this module never reads the store); the wording is
data/handouts.json. Layout is typeset.py's: blocks placed before they are drawn.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from ..clock import show
from ..questions.records import QuizInfo, VariantKey, format_answer, instructor_notes
from ..resources import load_json
from .submitting import submit_steps, wording
from .typeset import (
    BOLD,
    BOTTOM,
    CODE,
    CONTENT_W,
    MARGIN,
    PAGE_H,
    PAGE_W,
    TEXT,
    TOKEN,
    TOP,
    Block,
    Fonts,
    font_files,
    new_pdf,
    paginate,
    pdf_bytes,
    wrap,
    wrap_code,
)


@dataclass(frozen=True)
class SheetQuestion:
    """A question as printed for a student: its prompt, and the labels of its answer parts
    (empty for a question with one answer)."""

    slot: int
    points: int
    prompt: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Sheet:
    """One student's handout."""

    student: str
    name: str
    questions: tuple[SheetQuestion, ...]
    token: str | None = None  # printed on the tear-off slip


@dataclass(frozen=True)
class Printed:
    """A PDF and how many pages it has."""

    data: bytes
    pages: int


@dataclass(frozen=True)
class Handouts:
    quiz: QuizInfo
    server_url: str | None  # None: answers are handed in on paper
    sheets: tuple[Sheet, ...]
    duplex: bool = False  # each student's pages made even, for printing on both sides


# ------------------------------------------------------------------ sizes (pt) and spacing (mm)

BODY, BODY_LH = 10.0, 5.0
SMALL, SMALL_LH = 8.5, 4.2
# NanumGothicCoding's letters are small for their size (half an em wide): it is set larger
# than DejaVu Sans Mono so both look the same size beside 10 pt text.
CODE_PT = {True: 9.2, False: 8.6}  # by whether NanumGothicCoding is the code face
CODE_LH = 4.1
CODE_PAD = 2.2  # inside the code box, left and right
HEAD_PT = 11.5
TITLE_PT, TITLE_LH = 17.0, 7.6
GREY, LIGHT, FAINT, INK = 110, 200, 244, 20
QR_MM = 27.0
ANSWER_X = MARGIN + 98.0  # the answer boxes' column: graders read down one line
BOX_W, BOX_H = PAGE_W - MARGIN - ANSWER_X, 9.0
SLIP_H = 42.0

_NUMBERED = re.compile(r"(\d{1,2}\. |\(\d{1,2}\) |- )")


@cache
def _hints() -> frozenset[str]:
    """The answer hints prompts end with, in every language (data/templates.json)."""
    return frozenset(h for lang in load_json("templates.json").values() for h in lang["answer_hint"].values())


@cache
def _parts_hints() -> frozenset[str]:
    return frozenset(lang["answer_hint"]["parts"] for lang in load_json("templates.json").values())


def prompt_segments(prompt: str, parts: Sequence[str]) -> list[tuple[str, Any]]:
    """A prompt as ("text", line), ("gap", None), ("code", [lines]) and ("hint", line)
    segments. The "(1) label" lines of a multi-part question and its "answer each part"
    hint are left out: the answer boxes carry the labels."""
    part_lines = {f"({i}) {label}" for i, label in enumerate(parts, start=1)}
    out: list[tuple[str, Any]] = []
    code: list[str] | None = None
    for line in prompt.split("\n"):
        if line.startswith("```"):
            if code is None:
                code = []
            else:
                out.append(("code", code))
                code = None
            continue
        if code is not None:
            code.append(line.rstrip())
        elif parts and (line in part_lines or line in _parts_hints()):
            continue
        elif line in _hints():
            out.append(("hint", line))
        elif not line.strip():
            if out and out[-1][0] != "gap":
                out.append(("gap", None))
        else:
            out.append(("text", line))
    if code is not None:  # an unclosed fence: still code
        out.append(("code", code))
    while out and out[-1][0] == "gap":
        out.pop()
    return out


class _Doc:
    """Drawing helpers over one PDF and its fonts."""

    def __init__(self, title: str, lang: str):
        self.pdf = new_pdf(title, lang)
        self.fonts = Fonts(self.pdf, font_files())

    # ---------------------------------------------------------------- primitives

    def grey(self, level: int) -> None:
        self.pdf.set_text_color(level)

    def line_at(self, x: float, y: float, text: str, kind: str = TEXT, size: float = BODY, color: int = INK,
                lh: float = BODY_LH) -> float:
        """Draw one line whose box starts at y (baseline placed inside the line height)."""
        self.grey(color)
        return self.fonts.draw(x, y + lh * 0.74, text, kind, size)

    def paragraph(self, block: Block, text: str, kind: str = TEXT, size: float = BODY, lh: float = BODY_LH,
                  color: int = INK, x: float = MARGIN, width: float = CONTENT_W) -> None:
        """A wrapped paragraph; "1. ", "(2) " and "- " items hang under their first word."""
        m = _NUMBERED.match(text)
        hang = self.fonts.width(m.group(0), kind, size) if m else 0.0
        for n, line in enumerate(wrap(self.fonts, text, kind, size, width, hang)):
            indent = hang if n else 0.0
            self.text_item(block, x + indent, line, kind, size, color, lh)

    def text_item(self, block: Block, x: float, line: str, kind: str, size: float, color: int, lh: float) -> None:
        """One line of text as an item of ``block``."""

        def draw(y: float) -> None:
            self.line_at(x, y, line, kind, size, color, lh)

        block.add(lh, draw)

    def clipped(self, text: str, kind: str, size: float, width: float) -> str:
        """``text`` cut with "…" to fit ``width`` mm."""
        if self.fonts.width(text, kind, size) <= width:
            return text
        while text and self.fonts.width(text + "…", kind, size) > width:
            text = text[:-1]
        return text + "…"

    def code_block(self, block: Block, lines: Sequence[str]) -> None:
        """Code on a light grey ground, one item a line (a long block may break between lines);
        a line too long for the page continues on the next, marked ↪ in the margin."""
        inner = CONTENT_W - 2 * CODE_PAD
        pad = 1.6
        block.add(pad, lambda y: self._code_ground(y, pad))
        for line in lines:
            for n, piece in enumerate(wrap_code(self.fonts, line.expandtabs(4), CODE_PT[self.fonts.coding], inner)):
                block.add(CODE_LH, partial(self._code_line, text=piece, continued=n > 0))
        block.add(pad, lambda y: self._code_ground(y, pad))

    def _code_ground(self, y: float, h: float) -> None:
        self.pdf.set_fill_color(FAINT)
        self.pdf.rect(MARGIN, y, CONTENT_W, h, style="F")

    def _code_line(self, y: float, text: str, continued: bool) -> None:
        self._code_ground(y, CODE_LH)
        if continued:
            self.line_at(MARGIN + 0.4, y, "↪", TEXT, 6.5, GREY, CODE_LH)
        self.line_at(MARGIN + CODE_PAD, y, text, CODE, CODE_PT[self.fonts.coding], INK, CODE_LH)

    def rule(self, y: float, color: int = LIGHT, width: float = 0.3) -> None:
        self.pdf.set_draw_color(color)
        self.pdf.set_line_width(width)
        self.pdf.line(MARGIN, y, PAGE_W - MARGIN, y)

    def footer(self, template: str, title: str, values: dict[str, Any], page: str) -> None:
        """The footer: ``template`` with the title cut short first, so the student's name and
        id stay whole beside the page number."""
        y = PAGE_H - MARGIN - 4.0
        self.rule(y - 1.5, LIGHT, 0.2)
        page_w = self.fonts.width(page, TEXT, 8)
        room = CONTENT_W - page_w - 6
        rest = self.fonts.width(template.format(title="", **values), TEXT, 8)
        left = template.format(title=self.clipped(title, TEXT, 8, max(room - rest, 20.0)), **values)
        self.line_at(MARGIN, y, self.clipped(left, TEXT, 8, room), TEXT, 8, GREY, 4.0)
        self.line_at(PAGE_W - MARGIN - page_w, y, page, TEXT, 8, GREY, 4.0)

    def qr(self, url: str, x: float, y: float, size: float) -> None:
        """The URL as a QR code (a PNG embedded once, however many pages show it)."""
        self.pdf.image(io.BytesIO(_qr_png(url)), x=x, y=y, w=size, h=size)

    def place(self, blocks: Sequence[Block], footer: tuple[str, str, dict[str, Any]], page_text: str,
              slip: Any = None, slip_page: dict[str, int] | None = None, duplex: bool = False) -> None:
        """Lay one student's blocks out on new pages, then draw them with their footers, and
        ``slip(y)`` at the foot of the last page with room for it (one more page if none
        has); ``slip_page["page"]`` tells the blocks which page that is when they are drawn.
        ``duplex``: an even number of pages (a blank one last if need be)."""
        pages = paginate(blocks).pages
        where = 0
        if slip is not None:
            free = [BOTTOM - max((y + item.height for item, y in page), default=TOP) for page in pages]
            roomy = [n for n, room in enumerate(free, start=1) if room >= SLIP_H]
            if not roomy:
                pages.append([])
            where = roomy[-1] if roomy else len(pages)
            if slip_page is not None:
                slip_page["page"] = where
        if duplex and len(pages) % 2:  # printed on both sides, the next student starts on a sheet of their own
            pages.append([])
        total = len(pages)
        for n, page in enumerate(pages, start=1):
            self.pdf.add_page()
            for item, y in page:
                item.draw(y)
            if n == where:
                slip(BOTTOM - SLIP_H)
            self.footer(*footer, page_text.format(page=n, pages=total))


@cache
def _qr_png(url: str) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=10, border=0)
    return out.getvalue()


# ------------------------------------------------------------------ the students' handouts

def handout_pdf(handouts: Handouts) -> Printed:
    """Every sheet, each student from a new page, as one PDF."""
    quiz = handouts.quiz
    doc = _Doc(quiz.title, quiz.language)
    paper = wording(quiz.language, "paper")
    for sheet in handouts.sheets:
        slip_page = {"page": 0}  # known once the pages are laid out
        blocks = [_header(doc, quiz, sheet, handouts.server_url, paper),
                  *(_question(doc, q, paper) for q in sheet.questions),
                  _how_to_submit(doc, quiz, sheet, handouts.server_url, paper, slip_page)]
        footer = (paper["footer"], _one_line(quiz.title),
                  {"quiz": quiz.id, "name": _one_line(sheet.name), "student": sheet.student})
        slip = (lambda y, sheet=sheet: _slip(doc, quiz, sheet, handouts.server_url or "", paper, y)) \
            if sheet.token else None
        doc.place(blocks, footer, paper["page"], slip, slip_page, handouts.duplex)
    return Printed(pdf_bytes(doc.pdf), doc.pdf.pages_count)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _deadline_lines(quiz: QuizInfo, paper: dict[str, str]) -> list[str]:
    if quiz.deadline is None:
        return [paper["no_deadline"]]
    lines = [paper["deadline"].format(deadline=show(quiz.deadline, quiz.time_zone))]
    if quiz.late_until is not None:
        lines.append(paper["late_until"].format(late_until=show(quiz.late_until, quiz.time_zone)))
    return lines


def _header(doc: _Doc, quiz: QuizInfo, sheet: Sheet, url: str | None, paper: dict[str, str]) -> Block:
    """Title, quiz line, deadline (and the QR code of the URL at the right); then the name
    and id in a box."""
    block = Block()
    text_w = CONTENT_W - (QR_MM + 6 if url else 0)
    title_lines = wrap(doc.fonts, _one_line(quiz.title), BOLD, TITLE_PT, text_w)
    points = sum(q.points for q in sheet.questions)
    lines: list[tuple[str, str, float, float, int]] = [(t, BOLD, TITLE_PT, TITLE_LH, INK) for t in title_lines]
    lines.append((paper["quiz_line"].format(quiz=quiz.id, count=len(sheet.questions), points=points), TEXT, BODY,
                  BODY_LH + 0.6, GREY))
    lines += [(d, BOLD, BODY, BODY_LH + 0.4, INK) for d in _deadline_lines(quiz, paper)]
    text_h = sum(line[3] for line in lines)
    url_lines = wrap(doc.fonts, url, TEXT, 6.5, QR_MM + 8) if url else []
    qr_h = QR_MM + 1.2 + 3.0 * len(url_lines) if url else 0.0
    height = max(text_h, qr_h) + 3.0

    def draw(y: float) -> None:
        yy = y
        for text, kind, size, lh, color in lines:
            doc.line_at(MARGIN, yy, text, kind, size, color, lh)
            yy += lh
        if url:
            x = PAGE_W - MARGIN - QR_MM
            doc.qr(url, x, y, QR_MM)
            for n, part in enumerate(url_lines):
                w = doc.fonts.width(part, TEXT, 6.5)
                doc.line_at(x + (QR_MM - w) / 2, y + QR_MM + 1.2 + 3.0 * n, part, TEXT, 6.5, GREY, 3.0)

    block.add(height, draw)
    block.add(15.0, lambda y: _name_box(doc, sheet, paper, y))
    return block


def _name_box(doc: _Doc, sheet: Sheet, paper: dict[str, str], y: float) -> None:
    """The student's name and id in a box: the name shrinks (to 8 pt) before it is cut."""
    h = 12.0
    id_w = 58.0
    pdf = doc.pdf
    pdf.set_draw_color(GREY)
    pdf.set_line_width(0.35)
    pdf.rect(MARGIN, y, CONTENT_W, h)
    pdf.line(PAGE_W - MARGIN - id_w, y, PAGE_W - MARGIN - id_w, y + h)
    name_w = CONTENT_W - id_w - 4
    for x, label, value, width in ((MARGIN + 2, paper["name"], _one_line(sheet.name), name_w),
                                   (PAGE_W - MARGIN - id_w + 2, paper["student"], sheet.student, id_w - 4)):
        doc.line_at(x, y + 0.6, label, TEXT, 7.0, GREY, 3.4)
        size = 12.5
        while size > 8.0 and doc.fonts.width(value, BOLD, size) > width:
            size -= 0.5
        doc.line_at(x, y + 4.0, doc.clipped(value, BOLD, size, width), BOLD, size, INK, 7.0)


def _question(doc: _Doc, q: SheetQuestion, paper: dict[str, str]) -> Block:
    block = Block(space_before=5.0)
    heading = paper["question"].format(slot=q.slot)
    points = paper["points"].format(points=q.points)

    def draw_heading(y: float) -> None:
        doc.rule(y, LIGHT, 0.3)
        doc.line_at(MARGIN, y + 1.6, heading, BOLD, HEAD_PT, INK, 6.0)
        w = doc.fonts.width(points, TEXT, 9.0)
        doc.line_at(PAGE_W - MARGIN - w, y + 1.6, points, TEXT, 9.0, GREY, 6.0)

    block.add(8.6, draw_heading)
    for kind, value in prompt_segments(q.prompt, q.parts):
        if kind == "text":
            doc.paragraph(block, value)
        elif kind == "gap":
            block.space(1.8)
        elif kind == "code":
            block.group()
            block.space(1.0)
            doc.code_block(block, value)
            block.space(1.4)
        else:  # a hint: how to write the answer
            doc.paragraph(block, value, TEXT, SMALL, SMALL_LH, GREY)
    block.space(2.0)
    labels = [f"({i}) {label}" for i, label in enumerate(q.parts, start=1)] or [paper["answer"]]
    for label in labels:  # never a group of their own: answer boxes stay with the code above them
        _answer_row(doc, block, label)
    return block


def _answer_row(doc: _Doc, block: Block, label: str) -> None:
    """A part's label at the left, its box in the answer column."""
    label_w = ANSWER_X - MARGIN - 4
    lines = wrap(doc.fonts, label, TEXT, 9.0, label_w)
    text_h = 4.4 * len(lines)
    height = max(BOX_H, text_h) + 2.2

    def draw(y: float) -> None:
        top = y + max(0.0, (BOX_H - text_h) / 2)
        for n, line in enumerate(lines):
            doc.line_at(MARGIN, top + 4.4 * n, line, TEXT, 9.0, INK, 4.4)
        doc.pdf.set_draw_color(70)
        doc.pdf.set_line_width(0.35)
        doc.pdf.rect(ANSWER_X, y, BOX_W, BOX_H)

    block.add(height, draw)


def _how_to_submit(doc: _Doc, quiz: QuizInfo, sheet: Sheet, url: str | None, paper: dict[str, str],
                   slip_page: dict[str, int]) -> Block:
    block = Block(space_before=7.0)

    def heading(y: float) -> None:
        doc.rule(y, GREY, 0.4)
        doc.line_at(MARGIN, y + 1.8, paper["submit_heading"], BOLD, HEAD_PT, INK, 6.0)

    block.add(8.8, heading)
    if url is None:
        doc.paragraph(block, paper["submit_paper"])
        return block
    steps = submit_steps(quiz.language, url, quiz.id, sheet.student)
    doc.paragraph(block, steps.page_heading, BOLD)
    for step in steps.page:
        doc.paragraph(block, step)
    doc.paragraph(block, paper["submit_qr"], TEXT, SMALL, SMALL_LH, GREY)
    block.space(2.0)
    block.group()
    doc.paragraph(block, steps.cli_heading, BOLD)
    block.space(0.6)
    doc.code_block(block, steps.commands)
    block.space(0.8)
    doc.paragraph(block, steps.cli_note, TEXT, SMALL, SMALL_LH, GREY)
    block.space(1.5)
    if sheet.token:  # one line; the page is filled in when drawn, after the pages are laid out
        block.add(SMALL_LH, lambda y: doc.line_at(MARGIN, y, paper["token_in_slip"].format(page=slip_page["page"]),
                                                  BOLD, SMALL, INK, SMALL_LH))
    else:
        doc.paragraph(block, paper["token_note"], BOLD, SMALL, SMALL_LH)
    return block


def _slip(doc: _Doc, quiz: QuizInfo, sheet: Sheet, url: str, paper: dict[str, str], y: float) -> None:
    """The tear-off slip: a dashed cut line across the page, then who, where and the token."""
    pdf = doc.pdf
    cut = y + 4.0
    pdf.set_draw_color(GREY)
    pdf.set_line_width(0.3)
    pdf.set_dash_pattern(dash=1.6, gap=1.2)
    pdf.line(0, cut, PAGE_W, cut)
    pdf.set_dash_pattern()
    label = f"✂ {paper['slip_cut']}"
    w = doc.fonts.width(label, TEXT, 7.5) + 3
    pdf.set_fill_color(255)
    pdf.rect(MARGIN + 4, cut - 2.0, w, 4.0, style="F")
    doc.line_at(MARGIN + 5.5, cut - 2.0, label, TEXT, 7.5, GREY, 4.0)
    top = cut + 5.0
    doc.line_at(MARGIN, top, paper["slip_heading"], BOLD, 10.5, INK, 5.5)
    rows = [(paper["name"], _one_line(sheet.name)), (paper["student"], sheet.student),
            (paper["quiz"], f"{quiz.id} · {_one_line(quiz.title)}"), (paper["server"], url)]
    label_w = max(doc.fonts.width(r[0], TEXT, 8.5) for r in rows) + 4
    yy = top + 7.0
    for name, value in rows:
        doc.line_at(MARGIN, yy, name, TEXT, 8.5, GREY, 4.6)
        doc.line_at(MARGIN + label_w, yy, doc.clipped(value, TEXT, 9.0, 95.0), TEXT, 9.0, INK, 4.6)
        yy += 4.9
    # the token, large, in a box at the right: the one thing a student copies by hand
    box_x, box_w = MARGIN + label_w + 99.0, PAGE_W - MARGIN - (MARGIN + label_w + 99.0)
    doc.line_at(box_x, top + 7.0, paper["token"], TEXT, 8.5, GREY, 4.6)
    assert sheet.token is not None
    size = 12.0
    while size > 7.0 and doc.fonts.width(sheet.token, TOKEN, size) > box_w - 4:
        size -= 0.5
    pdf.set_draw_color(INK)
    pdf.set_line_width(0.5)
    pdf.rect(box_x, top + 12.0, box_w, 10.0)
    doc.line_at(box_x + 2, top + 13.8, sheet.token, TOKEN, size, INK, 6.4)
    note_lines = wrap(doc.fonts, paper["slip_note"], TEXT, 7.5, CONTENT_W)
    for n, line in enumerate(note_lines):
        doc.line_at(MARGIN, yy + 1.5 + 3.6 * n, line, TEXT, 7.5, GREY, 3.6)


# ------------------------------------------------------------------ the answer key

def key_pdf(quiz: QuizInfo, variants: Sequence[VariantKey], duplex: bool = False) -> Printed:
    """Each variant's answers with their derivations, each student from a new page,
    marked on every page as the instructor's."""
    doc = _Doc(f"{quiz.title} — key", quiz.language)
    paper = wording(quiz.language, "paper")
    for variant in variants:
        name = _one_line(variant.student_name or "")
        student = variant.student or ""
        blocks = [_key_header(doc, quiz, name, student, paper)]
        for entry in variant.entries:
            blocks.append(_key_entry(doc, quiz, entry, paper))
        doc.place(blocks, (paper["key_footer"], _one_line(quiz.title), {"quiz": quiz.id, "name": name,
                                                                         "student": student}), paper["page"],
                  duplex=duplex)
    return Printed(pdf_bytes(doc.pdf), doc.pdf.pages_count)


def _key_header(doc: _Doc, quiz: QuizInfo, name: str, student: str, paper: dict[str, str]) -> Block:
    block = Block()
    warning = f"{paper['key_title']} · {paper['key_warning']}"

    def band(y: float) -> None:
        doc.pdf.set_fill_color(150, 20, 20)
        doc.pdf.rect(MARGIN, y, CONTENT_W, 8.0, style="F")
        doc.pdf.set_text_color(255)
        doc.fonts.draw(MARGIN + 3, y + 5.6, warning, BOLD, 10.5)

    block.add(10.5, band)
    for line in wrap(doc.fonts, _one_line(quiz.title), BOLD, 15.0, CONTENT_W):
        doc.text_item(block, MARGIN, line, BOLD, 15.0, INK, 6.8)
    info = " · ".join([f"{paper['quiz']} {quiz.id}", *_deadline_lines(quiz, paper)])
    doc.paragraph(block, info, TEXT, 9.5, 5.0, GREY)
    doc.paragraph(block, f"{paper['name']}: {name} · {paper['student']}: {student}", BOLD, 11.0, 6.0)
    return block


def _key_entry(doc: _Doc, quiz: QuizInfo, entry: Any, paper: dict[str, str]) -> Block:
    block = Block(space_before=4.0)
    heading = f"{paper['question'].format(slot=entry.slot)} · {paper['points'].format(points=entry.points)}"

    def draw_heading(y: float) -> None:
        doc.rule(y, LIGHT, 0.3)
        doc.line_at(MARGIN, y + 1.4, heading, BOLD, 11.0, INK, 6.0)

    block.add(8.0, draw_heading)
    answer = format_answer(entry.answer, quiz.language)
    lines = answer.split("\n")
    if len(lines) == 1:
        doc.paragraph(block, f"{paper['key_answer']}: {answer}", BOLD, 10.5, 5.6)
    else:
        doc.paragraph(block, f"{paper['key_answer']}:", BOLD, 10.0, 5.4)
        for line in lines:
            doc.paragraph(block, line, BOLD, 9.5, 5.0, x=MARGIN + 4, width=CONTENT_W - 4)
    for note in instructor_notes(entry.answer):
        doc.paragraph(block, f"{paper['key_accepted']}: {note}", TEXT, SMALL, SMALL_LH, GREY)
    block.space(1.2)
    for line in entry.derivation.split("\n"):
        if line.strip():
            doc.paragraph(block, line, TEXT, 9.0, 4.6, 70)
    return block
