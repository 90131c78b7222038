"""Item analysis: correct rate, discrimination, common wrong answers and slips, score
distribution; as plain data, as JSON and as the text report.

The charts (``charts``) and the HTML page (``html_report``) draw the same ``Report``;
its wording, in Korean and English, is ``data/report.json``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from ..errors import clip
from ..grading.slip_messages import layer_name, parse_slip, score_text, slip_feedback
from ..resources import load_json
from .gradebook import Gradebook
from .textwidth import table


@dataclass(frozen=True)
class WrongAnswer:
    """A wrong answer as students wrote it (a part of a multi-part answer as "3.1 = 5"),
    with the slip that explains it, if one does."""

    misconception: str | None
    example: str
    answers: int


@dataclass(frozen=True)
class ItemStats:
    slot: int
    points: int
    answered: int
    correct_rate: float | None  # None: nobody answered
    discrimination: float | None  # None: fewer than 4 students
    wrong: list[WrongAnswer]  # the commonest three, those a known slip explains first
    kind: str | None = None  # the question's kind (``total-params``), when the gradebook knows it
    model: str = ""  # its model in a few words: ``Embedding → SimpleRNN ×2 → Dense``


@dataclass(frozen=True)
class SlipCount:
    """One known slip over the whole quiz: how many wrong answers (or parts) show it,
    from how many students, in which questions."""

    misconception: str
    answers: int
    students: int
    slots: list[int]


@dataclass(frozen=True)
class ScoreBin:
    """Totals from ``low`` up to (not including) ``high``; the last bin includes its upper
    edge (full marks). A bin of one possible score (``exact``) is that score: from k up to
    k+1 (a part's partial credit falls in the whole score below it), or full marks alone."""

    low: float
    high: float
    students: int
    exact: bool = False

    @property
    def label(self) -> str:
        """``7`` for a bin of one score, ``10-20`` for a range."""
        return score_text(self.low) if self.exact else f"{score_text(self.low)}-{score_text(self.high)}"


@dataclass(frozen=True)
class Report:
    book: Gradebook
    items: list[ItemStats]
    totals: list[float]  # of the students with at least one graded answer
    slips: list[SlipCount]  # commonest first
    bins: list[ScoreBin]
    unexplained: int  # wrong answers (or parts) no known slip explains

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.totals) if self.totals else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.totals) if self.totals else None


DISCRIMINATION_GROUP = 0.27  # upper and lower 27% of students by total (Kelley)


def item_analysis(book: Gradebook) -> Report:
    """Per-question statistics of a gradebook, the quiz's commonest slips and its score
    distribution. Discrimination is the correct rate of the upper 27% of students minus
    that of the lower 27%, computed once there are at least 4 students."""
    students = [r for r in book.rows if any(s is not None for s in r.scores)]
    ranked = sorted(students, key=lambda r: r.total)
    group = max(1, round(DISCRIMINATION_GROUP * len(ranked))) if ranked else 0
    lower, upper = ranked[:group], ranked[-group:] if group else []
    items = []
    for i, points in enumerate(book.points):
        answered = [r for r in students if r.correct[i] is not None]
        rate = sum(bool(r.correct[i]) for r in answered) / len(answered) if answered else None
        disc = None
        if len(ranked) >= 4:
            disc = (sum(bool(r.correct[i]) for r in upper) - sum(bool(r.correct[i]) for r in lower)) / group
        counts: Counter[tuple[str, str]] = Counter()
        examples: dict[tuple[str, str], str] = {}
        for slots in book.misconceptions.values():
            for slip, raw in slots.get(i + 1, []):
                text = " ".join(str(raw).split())
                label = (slip, "" if slip else text)
                counts[label] += 1
                examples.setdefault(label, text)
        common = counts.most_common(3)
        common.sort(key=lambda c: not c[0][0])  # stable: by count, with those no slip explains last
        wrong = [WrongAnswer(slip or None, examples[(slip, raw)], n) for (slip, raw), n in common]
        about = book.about[i] if i < len(book.about) else None
        items.append(ItemStats(i + 1, points, len(answered), rate, disc, wrong,
                               about.kind if about else None, model_words(about.spec) if about else ""))
    slips, unexplained = _slip_counts(book)
    totals = [r.total for r in students]
    return Report(book, items, totals, slips, _bins(totals, book.max_score), unexplained)


def _slip_counts(book: Gradebook) -> tuple[list[SlipCount], int]:
    answers: Counter[str] = Counter()
    who: dict[str, set[str]] = defaultdict(set)
    where: dict[str, set[int]] = defaultdict(set)
    unexplained = 0
    for student, slots in book.misconceptions.items():
        for slot, wrong in slots.items():
            for ref, _ in wrong:
                if not ref:
                    unexplained += 1
                    continue
                slip = parse_slip(ref).slip  # the quiz's slips by kind, whichever layer showed them
                answers[slip] += 1
                who[slip].add(student)
                where[slip].add(slot)
    ordered = sorted(answers, key=lambda s: (-answers[s], -len(who[s]), s))
    return [SlipCount(s, answers[s], len(who[s]), sorted(where[s])) for s in ordered], unexplained


_BIN_WIDTHS = (1, 2, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
SCORE_PER_BIN_UP_TO = 20  # full marks up to which every possible score gets its own bin


def _bins(totals: list[float], max_score: int) -> list[ScoreBin]:
    """A bin per possible score (0, 1, …, full marks) for a quiz worth up to 20 points,
    so that whole points are never merged (8 students at 2 and 4 at 1 of 2 are two bars);
    beyond that, bins of a round width from 0 to full marks, at most 10 of them (the
    width divides full marks where one of the round widths can), a total on an inner
    edge counting in the bin above it and full marks in the last bin."""
    if max_score <= SCORE_PER_BIN_UP_TO:
        top = max(0, max_score)
        counts = [0] * (top + 1)
        for t in totals:
            counts[max(0, min(top, math.floor(t + 1e-9)))] += 1
        return [ScoreBin(k, k if k == top else k + 1, c, exact=True) for k, c in enumerate(counts)]
    top = max(1, max_score)
    fitting = [w for w in _BIN_WIDTHS if top / w <= 10]
    width: float = next((w for w in fitting if top % w == 0), fitting[0]) if fitting else top / 10
    counts = [0] * max(1, math.ceil(top / width - 1e-9))
    for t in totals:
        counts[max(0, min(len(counts) - 1, int(t // width)))] += 1
    return [ScoreBin(i * width, min(top, (i + 1) * width), c) for i, c in enumerate(counts)]


# What a model is, in a few words: its layers' types in order, repeats counted, the
# layers that only reshape, regularise or join left out.
_MINOR_LAYERS = frozenset({
    "Dropout", "SpatialDropout1D", "Flatten", "Add", "Concatenate", "Activation", "Reshape", "RepeatVector",
    "LayerNormalization", "BatchNormalization", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "MaxPooling1D",
    "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D"})
MODEL_WORDS = 5  # layer names at most


def model_words(spec: dict[str, Any]) -> str:
    """``Embedding → SimpleRNN ×2 → Dense``: a question's model as its layers' types
    (a wrapper with the layer it wraps: ``Bidirectional(LSTM)``), for a table cell."""
    names: list[str] = []
    for layer in spec.get("layers") or []:
        if not isinstance(layer, dict) or layer.get("type") in _MINOR_LAYERS:
            continue
        name = str(layer.get("type", "?"))
        inner = layer.get("layer")
        if isinstance(inner, dict):
            name += f"({inner.get('type', '?')})"
        names.append(name)
    if "inputs" in spec:  # a functional graph (two branches, two models): each type once
        words_ = list(dict.fromkeys(names))
    else:
        words_ = [f"{name} ×{n}" if (n := len(list(run))) > 1 else name for name, run in groupby(names)]
    if len(words_) > MODEL_WORDS:
        words_ = [*words_[:MODEL_WORDS - 1], "…", words_[-1]]
    return " → ".join(words_)


def question_about(item: ItemStats, lang: str) -> str:
    """What a question asks, in a few words: ``총 파라미터 수 · Embedding → SimpleRNN → Dense``."""
    if item.kind is None:
        return ""
    kind = words(lang)["kind_names"].get(item.kind, item.kind)
    return f"{kind} · {item.model}" if item.model else kind


# ---------------------------------------------------------------- wording

def words(lang: str) -> dict[str, Any]:
    """The report's wording in ``lang`` (data/report.json)."""
    return load_json("report.json")[lang]


def slip_explanation(key: str, lang: str) -> str:
    """The feedback sentence a student gets for this slip, or for a slip made in one layer
    (``no_bias@2:SimpleRNN``, grading.slip_messages); wording in data/misconceptions.json."""
    if parse_slip(key).layer is not None:
        return slip_feedback(key, lang) or ""
    return load_json("misconceptions.json")[lang].get(key, "")


def slip_name(key: str, lang: str) -> str:
    """A short name for a slip, for a chart label or a table cell: the report's own name,
    else the first sentence of the student feedback, else the key itself; a slip made in
    one layer names the layer too ("bias left out — layer 2 (SimpleRNN)")."""
    ref = parse_slip(key)
    if ref.layer is not None:
        return words(lang)["slip_in_layer"].format(name=slip_name(ref.slip, lang),
                                                   layer=layer_name(ref.layer, ref.layer_type, lang))
    name = words(lang)["slip_names"].get(key)
    if name:
        return name
    explanation = slip_explanation(key, lang)
    if not explanation:
        return key
    first = explanation.split(". ")[0].split(": ")[0].rstrip(".")
    return clip(first, 48)


def _rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _disc_text(disc: float | None) -> str:
    return "-" if disc is None else f"{disc:+.2f}"


def heading(report: Report, lang: str) -> tuple[str, str]:
    """The report's title line and its summary line, in ``lang``."""
    w = words(lang)
    info = report.book.info
    title = f"{info.title} ({w['quiz'].format(id=info.id)}) — {w['report']}"
    summary = w["summary"].format(students=len(report.totals), max=report.book.max_score)
    if report.totals:
        summary += "; " + w["averages"].format(mean=score_text(report.mean or 0), median=score_text(report.median or 0))
    return title, summary


# ---------------------------------------------------------------- JSON and text

def report_json(report: Report) -> dict[str, Any]:
    """The analysis as JSON-ready data: no wording, slips by their keys."""
    return {
        "quiz": report.book.info.to_json(),
        "students": len(report.totals),
        "max_score": report.book.max_score,
        "mean": report.mean,
        "median": report.median,
        "items": [{"question": item.slot, "kind": item.kind, "model": item.model, "points": item.points,
                   "answered": item.answered,
                   "correct_rate": item.correct_rate, "discrimination": item.discrimination,
                   "wrong_answers": [{"misconception": w.misconception, "example": w.example, "answers": w.answers}
                                     for w in item.wrong]}
                  for item in report.items],
        "slips": [{"misconception": s.misconception, "answers": s.answers, "students": s.students,
                   "questions": s.slots} for s in report.slips],
        "unexplained_wrong_answers": report.unexplained,
        "score_distribution": [{"from": b.low, "to": b.high, "students": b.students} for b in report.bins],
    }


def format_report(report: Report, lang: str | None = None) -> str:
    """The text report: a table per question, its commonest wrong answers, the quiz's
    commonest slips with their explanation, and a histogram of totals. Columns are
    aligned in terminal cells, so Korean headers sit over their numbers."""
    lang = lang or report.book.info.language
    w = words(lang)
    title, summary = heading(report, lang)
    lines = [f"# {title}", summary, ""]
    if not report.totals:
        return "\n".join([*lines, w["no_answers"]])
    header = [w["question"], w["points"], w["answered"], w["correct_rate"], w["discrimination"]]
    rows = [[str(i.slot), str(i.points), str(i.answered), _rate_text(i.correct_rate), _disc_text(i.discrimination)]
            for i in report.items]
    rendered = table(header, rows)
    lines.append(rendered[0] + (f"  {w['about']}" if any(i.kind for i in report.items) else ""))
    for item, line in zip(report.items, rendered[1:]):
        about = question_about(item, lang)
        lines.append(f"{line}  {about}" if about else line)
        for wrong in item.wrong:
            why = slip_name(wrong.misconception, lang) if wrong.misconception else w["unexplained"]
            lines.append(f"      {wrong.answers}× {clip(wrong.example, 40)!r} — {why}")
    lines += ["", f"{w['slips_heading']}:"]
    if not report.slips:
        lines.append(f"  {w['slips_none']}")
    for slip in report.slips[:5]:
        lines.append("  " + w["slip_line"].format(name=slip_name(slip.misconception, lang), answers=slip.answers,
                                                  students=slip.students, questions=", ".join(map(str, slip.slots))))
        explanation = slip_explanation(slip.misconception, lang)
        if explanation:
            lines.append(f"    {explanation}")
    lines += ["", f"{w['score_distribution']}:"]
    peak = max((b.students for b in report.bins), default=0) or 1
    labels = [b.label for b in report.bins]
    width = max(map(len, labels))
    for label, b in zip(labels, report.bins):
        bar = "█" * round(30 * b.students / peak)
        lines.append(f"{label:>{width}} | {bar + ' ' if bar else ''}{b.students}")
    return "\n".join(lines)
