"""Typesetting for printed pages (fpdf2): the fonts, text wrapped by measured widths,
each character in a font that has it, and pages laid out before they are drawn.

fpdf2's own ``multi_cell`` with fallback fonts costs about 2 ms a paragraph (it measures
each line again for every character it adds), which is a minute for a class of 200. Here
widths are summed once per word from the fonts' advance tables, lines are drawn with the
cheap ``FPDF.text``, and a character a face lacks is drawn in the next face of its chain
(NanumGothic has no − or ✂; DejaVu Sans, which matplotlib ships, has them).

Fonts: NanumGothic from the koreanize-matplotlib dependency (or another installed font
with Hangul, as the charts find it) for text; for code NanumGothicCoding where Debian's
``fonts-nanum-coding`` (or the user) installed it, whose Hangul is exactly two columns
wide; else DejaVu Sans Mono with Hangul from NanumGothic (columns of Hangul comments then
do not line up, the code itself does).

Layout happens in two steps: blocks are made of items with known heights, then placed on
pages (a block that fits on one page is never split), so every page knows its number and
the number of pages of its group before anything is drawn: footers say "2/3".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ..errors import QuizgenError

MM_PER_PT = 25.4 / 72
PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
MARGIN = 16.0
FOOTER_H = 10.0
CONTENT_W = PAGE_W - 2 * MARGIN
TOP, BOTTOM = MARGIN, PAGE_H - MARGIN - FOOTER_H  # where content may go

# Where a NanumGothicCoding file may be installed (Debian/Ubuntu's fonts-nanum-coding, macOS, Windows).
CODING_FONT_PLACES = (
    "/usr/share/fonts/truetype/nanum/NanumGothicCoding.ttf",
    "/usr/share/fonts/nanum/NanumGothicCoding.ttf",
    "~/.local/share/fonts/NanumGothicCoding.ttf",
    "~/Library/Fonts/NanumGothicCoding.ttf",
    "/Library/Fonts/NanumGothicCoding.ttf",
    "C:/Windows/Fonts/NanumGothicCoding.ttf",
)
FONT_HINT = ("no font with Hangul was found for the PDF: pip install koreanize-matplotlib (quizgen's font "
             "dependency), or install a font with Hangul (Debian: apt-get install fonts-nanum)")


class FontError(QuizgenError):
    """No font can print the text (no Hangul font installed)."""


def _matplotlib_font(name: str) -> Path | None:
    """One of the DejaVu files matplotlib ships, found without importing matplotlib."""
    spec = find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / name
        if path.is_file():
            return path
    return None


def coding_font() -> Path | None:
    """NanumGothicCoding, where it is installed."""
    for place in CODING_FONT_PLACES:
        path = Path(place).expanduser()
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class FontFiles:
    """The files the faces are made from (None: not available here)."""

    hangul: Path
    hangul_bold: Path | None
    coding: Path | None
    sans: Path | None
    sans_bold: Path | None
    mono: Path | None


@cache
def font_files() -> FontFiles:
    from .charts import hangul_font

    hangul = hangul_font()
    if hangul is None:
        raise FontError(FONT_HINT)
    bold = hangul.with_name(f"{hangul.stem}Bold{hangul.suffix}")
    return FontFiles(hangul, bold if bold.is_file() else None, coding_font(), _matplotlib_font("DejaVuSans.ttf"),
                     _matplotlib_font("DejaVuSans-Bold.ttf"), _matplotlib_font("DejaVuSansMono.ttf"))


@dataclass(frozen=True, eq=False)
class Face:
    """A font registered with the PDF, with its advance widths and the code points it has."""

    family: str
    style: str
    widths: Any  # fpdf2's table: advance per code point, in 1/1000 em
    covers: frozenset[int]


TEXT, BOLD, CODE, TOKEN = "text", "bold", "code", "token"


class Fonts:
    """The faces of one PDF and, for each kind of text, the chain of faces it is drawn in."""

    def __init__(self, pdf: Any, files: FontFiles):
        self.pdf = pdf
        self._faces: dict[Path, Face] = {}
        hangul = self._face(files.hangul, "nanum")
        bold = self._face(files.hangul_bold, "nanumbold") if files.hangul_bold else hangul
        sans = self._face(files.sans, "dejavu") if files.sans else None
        sans_bold = self._face(files.sans_bold, "dejavubold") if files.sans_bold else sans
        mono = self._face(files.mono, "mono") if files.mono else None
        coding = self._face(files.coding, "coding") if files.coding else None
        self.chains: dict[str, list[Face]] = {
            TEXT: [f for f in (hangul, sans) if f is not None],
            BOLD: [f for f in (bold, sans_bold, hangul) if f is not None],
            CODE: [f for f in (coding or mono, hangul, mono, sans) if f is not None],
            # a token is copied by hand: DejaVu Sans Mono tells 0 from O and 1 from l and I
            TOKEN: [f for f in (mono, coding, hangul) if f is not None],
        }
        self.coding = files.coding is not None
        self._run_cache: dict[tuple[str, str], tuple[tuple[Face, str], ...]] = {}

    def _face(self, path: Path, family: str) -> Face:
        if path not in self._faces:
            self.pdf.add_font(family, "", str(path))
            font = self.pdf.fonts[family]
            self._faces[path] = Face(family, "", font.cw, frozenset(k for k, v in font.cmap.items() if k > 31 and v))
        return self._faces[path]

    def runs(self, text: str, kind: str) -> tuple[tuple[Face, str], ...]:
        """``text`` cut into runs, each in the first face of the chain that has its characters
        (a character no face has stays in the first face: drawn as its missing-glyph box)."""
        key = (text, kind)
        found = self._run_cache.get(key)
        if found is not None:
            return found
        chain = self.chains[kind]
        out: list[tuple[Face, str]] = []
        for ch in text:
            code = ord(ch)
            face = next((f for f in chain if code in f.covers), chain[0]) if code > 32 else chain[0]
            if out and out[-1][0] is face:
                out[-1] = (face, out[-1][1] + ch)
            else:
                out.append((face, ch))
        result = tuple(out)
        if len(self._run_cache) < 200_000:
            self._run_cache[key] = result
        return result

    def width(self, text: str, kind: str, size: float) -> float:
        """The width of ``text`` in mm at ``size`` points."""
        units = 0
        for face, run in self.runs(text, kind):
            widths = face.widths
            units += sum(widths[ord(c)] for c in run)
        return units * size * MM_PER_PT / 1000

    def draw(self, x: float, baseline: float, text: str, kind: str, size: float) -> float:
        """Draw ``text`` with its baseline at ``baseline``; returns the x after it."""
        pdf = self.pdf
        for face, run in self.runs(text, kind):
            pdf.set_font(face.family, face.style, size)
            pdf.text(x, baseline, run)
            x += sum(face.widths[ord(c)] for c in run) * size * MM_PER_PT / 1000
        return x


_SPACE = re.compile(r"(\s+)")


def wrap(fonts: Fonts, text: str, kind: str, size: float, width: float, hang: float = 0.0) -> list[str]:
    """``text`` broken into lines no wider than ``width`` mm at spaces (a word longer than a
    line is broken between characters); lines after the first are ``hang`` mm narrower."""
    lines: list[str] = []
    line, line_w = "", 0.0
    space_w = fonts.width(" ", kind, size)
    for word in _SPACE.split(text.strip()):
        if not word:
            continue
        if word.isspace():
            if line:
                line += " "
                line_w += space_w
            continue
        avail = width - (hang if lines else 0.0)
        word_w = fonts.width(word, kind, size)
        if line_w + word_w <= avail:
            line, line_w = line + word, line_w + word_w
            continue
        if line.strip():
            lines.append(line.rstrip())
            line, line_w = "", 0.0
            avail = width - hang
        while word_w > avail:  # a word wider than a whole line: cut it where it overflows
            cut = _fitting(fonts, word, kind, size, avail)
            lines.append(word[:cut])
            word = word[cut:]
            word_w = fonts.width(word, kind, size)
            avail = width - hang
        line, line_w = word, word_w
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def _fitting(fonts: Fonts, text: str, kind: str, size: float, width: float) -> int:
    """How many leading characters of ``text`` fit in ``width`` (at least one)."""
    used = 0.0
    for n, ch in enumerate(text):
        used += fonts.width(ch, kind, size)
        if used > width:
            return max(n, 1)
    return len(text)


def wrap_code(fonts: Fonts, line: str, size: float, width: float) -> list[str]:
    """A code line broken to fit: after the last ", " or space that fits (else where it
    overflows); each continuation is indented four spaces past the line's own indent."""
    if fonts.width(line, CODE, size) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip(" ")) + 4)
    out: list[str] = []
    rest = line
    while True:
        prefix = indent if out else ""
        if fonts.width(prefix + rest, CODE, size) <= width:
            out.append(prefix + rest)
            return out
        fit = _fitting(fonts, prefix + rest, CODE, size, width) - len(prefix)
        fit = max(fit, 1)
        cut = max(rest.rfind(", ", 0, fit - 1) + 2, rest.rfind(" ", 0, fit) + 1)
        if cut <= max(len(rest) - len(rest.lstrip(" ")), fit // 3):  # no good break: cut where it overflows
            cut = fit
        out.append(prefix + rest[:cut].rstrip())
        rest = rest[cut:].lstrip(" ")
        if not rest:
            return out


# ------------------------------------------------------------------ items and pages

@dataclass
class Item:
    """Something placed on a page: ``height`` mm tall, drawn by ``draw(y)`` at its top."""

    height: float
    draw: Callable[[float], object]


@dataclass
class Block:
    """Items that belong together (a question with its code and answer boxes): a block that
    fits on a page is never split; it starts a new page when it does not fit where it
    would start. A block taller than a page breaks between its groups (``group()``)."""

    groups: list[list[Item]] = field(default_factory=lambda: [[]])
    space_before: float = 0.0

    @property
    def height(self) -> float:
        return sum(i.height for g in self.groups for i in g)

    def add(self, height: float, draw: Callable[[float], object]) -> None:
        self.groups[-1].append(Item(height, draw))

    def space(self, height: float) -> None:
        self.add(height, _nothing)

    def group(self) -> None:
        """Start a new group: the block may break to a new page here."""
        if self.groups[-1]:
            self.groups.append([])


def _nothing(y: float) -> None:
    pass


@dataclass
class Placed:
    pages: list[list[tuple[Item, float]]]  # per page: (item, its top y)


PAGE_ROOM = BOTTOM - TOP


def paginate(blocks: Sequence[Block]) -> Placed:
    """Place blocks on pages, the first from the top of a new page."""
    pages: list[list[tuple[Item, float]]] = [[]]
    y = TOP

    def new_page() -> None:
        nonlocal y
        pages.append([])
        y = TOP

    def put(items: Sequence[Item]) -> None:
        nonlocal y
        for item in items:
            if y + item.height > BOTTOM and pages[-1]:
                new_page()
            pages[-1].append((item, y))
            y += item.height

    for block in blocks:
        if pages[-1]:
            y += block.space_before
        height = block.height
        if y + height <= BOTTOM:
            put([i for g in block.groups for i in g])
            continue
        if height <= PAGE_ROOM:
            new_page()
            put([i for g in block.groups for i in g])
            continue
        for group in block.groups:
            group_h = sum(i.height for i in group)
            if y + group_h > BOTTOM and group_h <= PAGE_ROOM and pages[-1]:
                new_page()
            put(group)
    return Placed(pages)


@contextmanager
def quiet_font_subsetting() -> Iterator[None]:
    """fontTools logs a warning for every table of hinting source it drops while cutting
    a font down (NanumGothic carries five): nothing a user can act on."""
    logger = logging.getLogger("fontTools.subset")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def new_pdf(title: str, lang: str) -> Any:
    """An A4 document that never breaks pages by itself (pages are laid out beforehand)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title(title)
    pdf.set_lang(lang)
    pdf.set_creator("quizgen")
    return pdf


def pdf_bytes(pdf: Any) -> bytes:
    with quiet_font_subsetting():
        return bytes(pdf.output())
