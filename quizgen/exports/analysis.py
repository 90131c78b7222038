"""Item analysis: correct rate, discrimination, common wrong answers, score distribution."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..resources import load_json
from .charts import Canvas
from .gradebook import Gradebook


@dataclass(frozen=True)
class WrongAnswer:
    misconception: str | None
    example: str
    students: int


@dataclass(frozen=True)
class ItemStats:
    slot: int
    answered: int
    correct_rate: float | None
    discrimination: float | None
    wrong: list[WrongAnswer]


@dataclass(frozen=True)
class Report:
    book: Gradebook
    items: list[ItemStats]
    totals: list[float]



def item_analysis(book: Gradebook) -> Report:
    """Per-question statistics of a gradebook (upper and lower 27% for discrimination)."""
    students = [r for r in book.rows if any(s is not None for s in r.scores)]
    ranked = sorted(students, key=lambda r: r.total)
    group = max(1, round(0.27 * len(ranked))) if ranked else 0
    lower, upper = ranked[:group], ranked[-group:] if group else []
    items = []
    for i, _ in enumerate(book.points):
        answered = [r for r in students if r.correct[i] is not None]
        rate = sum(bool(r.correct[i]) for r in answered) / len(answered) if answered else None
        disc = None
        if len(ranked) >= 4:
            disc = (sum(bool(r.correct[i]) for r in upper) - sum(bool(r.correct[i]) for r in lower)) / group
        counts: Counter[tuple[str, str]] = Counter()
        examples: dict[tuple[str, str], str] = {}
        for student, slots in book.misconceptions.items():
            for slip, raw in slots.get(i + 1, []):
                label = (slip, "" if slip else raw.strip())
                counts[label] += 1
                examples.setdefault(label, raw.strip())
        wrong = [WrongAnswer(slip or None, examples[(slip, raw)], n) for (slip, raw), n in counts.most_common(3)]
        items.append(ItemStats(i + 1, len(answered), rate, disc, wrong))
    return Report(book, items, [r.total for r in students])


def _bins(totals: list[float], max_score: int) -> list[tuple[str, int]]:
    edges = max(1, min(10, max_score))
    width = max_score / edges if max_score else 1
    counts = [0] * edges
    for t in totals:
        counts[min(edges - 1, int(t / width)) if width else 0] += 1
    return [(f"{i * width:g}-{(i + 1) * width:g}", c) for i, c in enumerate(counts)]


def format_report(report: Report, lang: str | None = None) -> str:
    lang = lang or report.book.info.language
    slips = load_json("misconceptions.json")[lang]
    words = {"ko": ("문항", "응답", "정답률", "변별도", "자주 나온 오답", "점수 분포", "학생", "원인 불명"),
             "en": ("Q", "answered", "correct", "discrimination", "common wrong answers", "score distribution",
                    "students", "unexplained")}[lang]
    info = report.book.info
    count = len(report.totals)
    who = f"학생 {count}명, 만점 {report.book.max_score}" if lang == "ko" else \
        f"{count} {words[6]}, max {report.book.max_score}"
    lines = [f"# {info.title} (quiz {info.id}) — {who}"]
    lines.append(f"{words[0]:>4}  {words[1]:>8}  {words[2]:>8}  {words[3]:>14}")
    for item in report.items:
        rate = "-" if item.correct_rate is None else f"{item.correct_rate:.0%}"
        disc = "-" if item.discrimination is None else f"{item.discrimination:+.2f}"
        lines.append(f"{item.slot:>4}  {item.answered:>8}  {rate:>8}  {disc:>14}")
        for w in item.wrong:
            why = slips.get(w.misconception, "") if w.misconception else words[7]
            lines.append(f"        {w.students}× {w.example[:30]!r}: {why}")
    lines.append(f"\n{words[5]}:")
    bins = _bins(report.totals, report.book.max_score)
    peak = max((c for _, c in bins), default=0) or 1
    for label, count in bins:
        lines.append(f"{label:>9} | {'█' * round(30 * count / peak)} {count}")
    return "\n".join(lines)


def report_png(report: Report) -> bytes:
    """Score distribution (left) and per-question correct rate (right), as a PNG."""
    canvas = Canvas(900, 360)
    bins = _bins(report.totals, report.book.max_score)
    peak = max((c for _, c in bins), default=0) or 1
    left, base, height = 40, 300, 240
    bar = 360 // max(1, len(bins))
    for i, (label, count) in enumerate(bins):
        x = left + i * bar
        canvas.rect(x + 2, base - round(height * count / peak), x + bar - 2, base, (70, 110, 190))
        canvas.text(x + 2, base + 8, label.split("-")[0], scale=2)
        canvas.text(x + 2, base - round(height * count / peak) - 14, str(count), scale=2)
    canvas.rect(left, base, left + bar * len(bins), base + 2, (40, 40, 40))
    canvas.text(left, 20, "SCORES", scale=3)
    left2 = 480
    canvas.text(left2, 20, "Q CORRECT %", scale=3)
    bar2 = 380 // max(1, len(report.items))
    for i, item in enumerate(report.items):
        x = left2 + i * bar2
        rate = item.correct_rate or 0.0
        canvas.rect(x + 2, base - round(height * rate), x + bar2 - 2, base, (80, 170, 100))
        canvas.text(x + 2, base + 8, str(item.slot), scale=2)
        canvas.text(x + 2, base - round(height * rate) - 14, f"{round(rate * 100)}", scale=2)
    canvas.rect(left2, base, left2 + bar2 * len(report.items), base + 2, (40, 40, 40))
    return canvas.png()
