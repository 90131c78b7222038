"""The report's charts, drawn by matplotlib: four panels in one PNG, or each panel as
an SVG for the HTML report.

The panels: the distribution of total scores, each question's correct rate, each
question's discrimination, and the commonest slips. Every label is in the report's
language (``data/report.json``).

matplotlib, and numpy under it, are imported only inside the functions that draw:
the text report and every student command stay light. Figures are made with
``matplotlib.figure.Figure``, never pyplot, so no GUI backend or global figure state
is involved.

Korean needs a font with Hangul, which matplotlib does not ship. The font comes from
the ``koreanize-matplotlib`` package (a dependency: it ships NanumGothic, SIL Open Font
License) or, failing that, from any installed font that has Hangul (Debian's
``fonts-nanum`` or ``fonts-noto-cjk``, Windows's Malgun Gothic, macOS's Apple SD Gothic
Neo). The package's module is never imported: it changes matplotlib's global settings
on import and needs ``distutils``, which Python 3.12 removed; only its font file is read.
Characters that no font has are reported back (``Drawing.missing``) rather than
silently drawn as empty boxes.
"""

from __future__ import annotations

import io
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analysis import Report, heading, score_text, slip_name, words
from .textwidth import fit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PANELS = ("scores", "correct_rate", "discrimination", "slips")
PNG_ORDER = ("scores", "slips", "correct_rate", "discrimination")  # the two per-question panels side by side

BLUE, GREEN, ORANGE, GREY, INK = "#4C72B0", "#55A868", "#DD8452", "#9A9A9A", "#333333"
HANGUL_PROBE = "한글"  # characters a Korean font must have
GOOD_DISCRIMINATION = 0.3  # Ebel's rule of thumb: 0.3 and above discriminates well
SLIPS_SHOWN = 6
TITLE_CELLS = 110  # what fits across the PNG at the title's size (a Hangul syllable takes two)
FONT_HINT = ("For Korean text: pip install koreanize-matplotlib (quizgen's font dependency), "
             "or install a font with Hangul (Debian: apt-get install fonts-nanum).")


@dataclass(frozen=True)
class Drawing:
    """A drawn chart and the characters no available font could draw in it."""

    data: bytes
    missing: tuple[str, ...]


def _packaged_font() -> Path | None:
    """NanumGothic as the koreanize-matplotlib package installs it, found through the
    package's file list, without importing it."""
    from importlib import metadata

    try:
        dist = metadata.distribution("koreanize-matplotlib")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if file.name == "NanumGothic.ttf":
            path = Path(str(dist.locate_file(file)))
            return path if path.is_file() else None
    return None


def _covers(path: str, text: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(ch) in charmap for ch in text)


@cache
def hangul_font() -> Path | None:
    """A font file with Hangul: the packaged NanumGothic, else an installed font that
    has Hangul (the first by name, for the same choice on every run), else None."""
    packaged = _packaged_font()
    if packaged is not None:
        return packaged
    from matplotlib import font_manager

    return installed_hangul_font(font_manager.fontManager.ttflist)


PREFERRED_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo")


def installed_hangul_font(fonts: Iterable[Any]) -> Path | None:
    """The regular face among matplotlib's font entries that has Hangul: a well-known
    Korean font first, then by name. matplotlib's Last Resort font is never chosen: it
    has every character, each drawn as a placeholder box."""
    ranked = sorted(fonts, key=lambda f: (
        PREFERRED_FONTS.index(f.name) if f.name in PREFERRED_FONTS else len(PREFERRED_FONTS), f.name, f.fname))
    for font in ranked:
        if (
            font.name.startswith("Last Resort")
            or font.style != "normal"
            or font.weight not in (400, "normal", "regular")
        ):
            continue
        if _covers(font.fname, HANGUL_PROBE):
            return Path(font.fname)
    return None


@cache
def _font_family() -> tuple[str, ...]:
    """matplotlib's font.family: the Hangul font first, DejaVu Sans (matplotlib's own,
    with symbols such as − and ≥) for any glyph it lacks."""
    from matplotlib import font_manager

    path = hangul_font()
    if path is None:
        return ("DejaVu Sans",)
    name = font_manager.FontProperties(fname=str(path)).get_name()
    for sibling in sorted(path.parent.glob(f"{path.stem}*{path.suffix}")):  # its bold face, for titles
        if font_manager.FontProperties(fname=str(sibling)).get_name() == name:
            font_manager.fontManager.addfont(str(sibling))
    return (name, "DejaVu Sans")


def font_family_css() -> str:
    """The family the charts name, as a CSS font-family list."""
    return ", ".join(f"'{name}'" for name in _font_family())


_GLYPH = re.compile(r"Glyph (\d+) .*missing from font")


def _drawn(draw: Callable[[], bytes]) -> Drawing:
    """Run ``draw`` with matplotlib's missing-glyph warnings caught and collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = draw()
    missing: list[str] = []
    for w in caught:
        match = _GLYPH.search(str(w.message))
        if match is None:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif chr(int(match.group(1))) not in missing:
            missing.append(chr(int(match.group(1))))
    return Drawing(data, tuple(missing))


def _style(**extra: Any) -> Any:  # rcParams (matplotlib types its keys as a long Literal)
    return {"font.family": list(_font_family()), "font.size": 10, "axes.unicode_minus": True,
            "text.parse_math": False,  # a title with two $ signs is text, not a formula
            "axes.spines.top": False, "axes.spines.right": False, "axes.titleweight": "bold",
            "axes.titlesize": 12, "axes.titlelocation": "left", **extra}


def report_png(report: Report, lang: str | None = None, dpi: int = 100) -> Drawing:
    """The four panels in one 1200×800 PNG (at 100 dpi), titled with the quiz's title."""
    import matplotlib
    from matplotlib.figure import Figure

    lang = lang or report.book.info.language
    title, _ = heading(report, lang)

    def draw() -> bytes:
        with matplotlib.rc_context(_style()):
            fig = Figure(figsize=(12, 8), dpi=dpi, layout="constrained")
            fig.suptitle(fit(title, TITLE_CELLS), fontsize=15, fontweight="bold", x=0.01, ha="left", color=INK)
            # a subfigure each, so the slips' long labels do not push the other panels aside
            grid: Any = fig.subfigures(2, 2, wspace=0.02, hspace=0.02)  # a 2×2 array of SubFigures
            for sub, panel in zip(grid.flat, PNG_ORDER):
                DRAW[panel](sub.subplots(), report, lang)
            out = io.BytesIO()
            fig.savefig(out, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
            return out.getvalue()

    return _drawn(draw)


def report_svgs(report: Report, lang: str | None = None) -> dict[str, Drawing]:
    """Each panel as an SVG document (text kept as text, for the HTML page's font; no
    date; the same ids on every run)."""
    import matplotlib
    from matplotlib.figure import Figure

    lang = lang or report.book.info.language
    out: dict[str, Drawing] = {}
    for panel in PANELS:
        def draw(panel: str = panel) -> bytes:
            with matplotlib.rc_context(_style(**{"svg.fonttype": "none", "svg.hashsalt": f"quizgen-{panel}"})):
                fig = Figure(figsize=(6, 3.8), layout="constrained")
                DRAW[panel](fig.subplots(), report, lang)
                buf = io.BytesIO()
                fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
                return buf.getvalue()

        out[panel] = _drawn(draw)
    return out


# ---------------------------------------------------------------- the panels

def _scores(ax: Axes, report: Report, lang: str) -> None:
    from matplotlib.ticker import MaxNLocator

    w = words(lang)
    bins = report.bins
    exact = bool(bins) and all(b.exact for b in bins)
    if exact:  # a bar per possible score, centred on it
        bars = ax.bar([b.low for b in bins], [b.students for b in bins], width=0.8, color=BLUE)
    else:
        bars = ax.bar([b.low for b in bins], [b.students for b in bins], width=[b.high - b.low for b in bins],
                      align="edge", color=BLUE, edgecolor="white", linewidth=1)
    ax.bar_label(bars, labels=[str(b.students) if b.students else "" for b in bins], padding=2, color=INK)
    if report.mean is not None:
        ax.axvline(report.mean, color=ORANGE, linestyle="--", linewidth=1.5,
                   label=w["averages"].format(mean=score_text(report.mean), median=score_text(report.median or 0)))
        ax.legend(loc="upper left", frameon=False)
    if exact:
        ax.set_xticks([b.low for b in bins], [b.label for b in bins])
        ax.set_xlim(bins[0].low - 0.6, bins[-1].low + 0.6)
    else:
        edges = [bins[0].low, *(b.high for b in bins)] if bins else [0, 1]
        ax.set_xticks(edges, [score_text(e) for e in edges])
        ax.set_xlim(edges[0], edges[-1])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max((b.students for b in bins), default=0) * 1.25 + 1)
    summary = w["summary"].format(students=len(report.totals), max=report.book.max_score)
    ax.set_title(f"{w['score_distribution_title']} ({summary})")
    ax.set_xlabel(w["score"])
    ax.set_ylabel(w["students"])


def _question_ticks(ax: Axes, report: Report, lang: str) -> list[int]:
    slots = [i.slot for i in report.items]
    ax.set_xticks(slots, [str(s) for s in slots], fontsize=10 if len(slots) <= 20 else 7)
    ax.set_xlim(0.4, len(slots) + 0.6)
    ax.set_xlabel(words(lang)["question_axis"])
    return slots


def _correct_rate(ax: Axes, report: Report, lang: str) -> None:
    w = words(lang)
    slots = _question_ticks(ax, report, lang)
    rates = [i.correct_rate for i in report.items]
    bars = ax.bar(slots, [100 * (r or 0) for r in rates], width=0.7, color=GREEN)
    crowded = len(slots) > 12
    ax.bar_label(bars, labels=["-" if r is None else f"{100 * r:.0f}" if crowded else f"{r:.0%}" for r in rates],
                 padding=2, color=INK, fontsize=7 if crowded else 9)
    ax.set_ylim(0, 112)
    ax.set_yticks(range(0, 101, 25))
    ax.set_title(w["correct_rate_title"])
    ax.set_ylabel(w["correct_rate_axis"])


def _discrimination(ax: Axes, report: Report, lang: str) -> None:
    w = words(lang)
    slots = _question_ticks(ax, report, lang)
    values = [i.discrimination for i in report.items]
    colors = [ORANGE if (d or 0) < GOOD_DISCRIMINATION and 0 < (i.correct_rate or 0) < 1 else BLUE
              for d, i in zip(values, report.items)]  # an item all or none got right tells nothing
    bars = ax.bar(slots, [d or 0 for d in values], width=0.7, color=colors)
    if len(slots) <= 12:  # beyond that the values would overlap: the axis tells them
        ax.bar_label(bars, labels=["-" if d is None else f"{d:+.2f}" for d in values], padding=2, color=INK, fontsize=9)
    ax.axhline(0, color=INK, linewidth=0.8)
    ax.axhline(GOOD_DISCRIMINATION, color=GREY, linestyle="--", linewidth=1, label=w["discrimination_good"])
    ax.set_ylim(-1.55, 1.25)  # room below -1 for the legend
    ax.set_yticks([-1, -0.5, 0, 0.5, 1])
    ax.legend(loc="lower right", frameon=False, fontsize=9)
    if all(d is None for d in values):
        ax.text(0.5, 0.75, w["discrimination_none"], transform=ax.transAxes, ha="center", va="center", color=INK)
    ax.set_title(w["discrimination_title"])
    ax.set_ylabel(w["discrimination_axis"])


def _slips(ax: Axes, report: Report, lang: str) -> None:
    w = words(lang)
    shown = report.slips[:SLIPS_SHOWN]
    names = [textwrap.fill(slip_name(s.misconception, lang), 28) for s in shown]
    counts = [s.answers for s in shown]
    colors = [BLUE] * len(shown)
    if report.unexplained:
        names.append(w["unexplained"])
        counts.append(report.unexplained)
        colors.append(GREY)
    ax.set_title(w["slips_title"])
    ax.set_xlabel(w["slips_axis"])
    if not counts:
        ax.text(0.5, 0.5, textwrap.fill(w["slips_none"], 40), transform=ax.transAxes, ha="center", va="center",
                color=INK)
        ax.set_yticks([])
        return
    from matplotlib.ticker import MaxNLocator

    rows = max(len(counts), 5)  # bars keep their thickness however few there are
    positions = [rows - 1 - i for i in range(len(counts))]  # commonest on top
    bars = ax.barh(positions, counts, height=0.65, color=colors)
    ax.bar_label(bars, padding=3, color=INK)
    ax.set_yticks(positions, names)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, max(counts) * 1.2 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


DRAW: dict[str, Callable[[Axes, Report, str], None]] = {
    "scores": _scores, "correct_rate": _correct_rate, "discrimination": _discrimination, "slips": _slips}
