"""The report as one self-contained HTML page: the four charts as inline SVG, tables per
question, per slip and per student, and the Korean font the page needs, subset and
embedded, so that it looks the same on every machine.

The page loads nothing: no script, stylesheet, image or font from elsewhere, and a
Content-Security-Policy forbids scripts even if something slipped through. Every
text that comes from users (the quiz title, student names, their answers) is
HTML-escaped; the SVG text is escaped by matplotlib's SVG writer.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path

from .. import __version__
from . import charts  # by module, so the page always uses the font the charts use
from .analysis import Report, heading, question_about, score_text, slip_explanation, slip_name, words

CSP = "default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:"

STYLE = """
body { font-family: %(family)s, 'Noto Sans CJK KR', 'Malgun Gothic', 'Apple SD Gothic Neo', sans-serif;
       color: #222; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
p.summary { color: #555; margin: 0 0 1rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(440px, 100%%), 1fr)); gap: 1rem; }
.charts details { margin: .3rem .2rem; font-size: .9rem; }
.charts summary { cursor: pointer; color: #33507a; }
.wide { overflow-x: auto; max-width: 100%%; }
.wide:focus-visible, summary:focus-visible { outline: 3px solid #33507a; outline-offset: 2px; }
.charts figure { margin: 0; border: 1px solid #e4e4e4; border-radius: 6px; padding: .4rem; background: #fff; }
.charts svg { display: block; width: 100%%; height: auto; }
table { border-collapse: collapse; font-size: .92rem; margin: .4rem 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.low { color: #b35400; font-weight: bold; }
ul.wrong { margin: 0; padding-left: 1.1rem; }
code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; white-space: pre-wrap; word-break: break-all; }
.muted { color: #595959; }
footer { margin-top: 2rem; color: #595959; font-size: .85rem; }
td.about { min-width: 12rem; }
"""


@dataclass(frozen=True)
class Page:
    """The HTML text and the characters no font could draw in its charts."""

    html: str
    missing: tuple[str, ...]


_IDS = re.compile(r'(\bid="|href="#|url\(#)([^"\)]+)')


def _svg_element(svg: bytes, panel: str, label: str) -> str:
    """matplotlib's SVG document as an element to inline: no XML prolog or doctype,
    labelled for screen readers, and every id prefixed with the panel's name (matplotlib
    numbers groups the same way in every figure, and ids must be unique in a page)."""
    text = svg.decode("utf-8")
    text = _IDS.sub(lambda m: f"{m.group(1)}{panel}-{m.group(2)}", text[text.index("<svg"):])
    return text.replace("<svg", f'<svg role="img" aria-label="{escape(label)}"', 1)


def _cell(text: str, cls: str = "") -> str:
    return f'<td class="{cls}">{escape(text)}</td>' if cls else f"<td>{escape(text)}</td>"


def _table(header: list[str], rows: list[str], label: str = "") -> str:
    """A table with column headers; ``label`` names the scrolling region a wide table sits
    in (at 390 px a table scrolls by itself, never the page; focusable, for keyboards)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if not label:
        return table
    return f'<div class="wide" role="region" aria-label="{escape(label)}" tabindex="0">{table}</div>'


def _data_table(lang: str, header: list[str], rows: list[tuple[str, str]]) -> str:
    """A chart's numbers as a table, folded under the chart (its text equivalent)."""
    body = "".join(f'<tr><th scope="row">{escape(a)}</th><td class="num">{escape(b)}</td></tr>' for a, b in rows)
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    return (f"<details><summary>{escape(words(lang)['chart_data'])}</summary>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>")


def _chart_data(report: Report, panel: str, lang: str) -> str:
    w = words(lang)
    question = w["question_col"]
    if panel == "scores":
        return _data_table(lang, [w["bin"], w["students"]], [(b.label, str(b.students)) for b in report.bins])
    if panel == "correct_rate":
        return _data_table(lang, [question, w["correct_rate"]],
                           [(str(i.slot), "-" if i.correct_rate is None else f"{i.correct_rate:.0%}")
                            for i in report.items])
    if panel == "discrimination":
        return _data_table(lang, [question, w["discrimination"]],
                           [(str(i.slot), "-" if i.discrimination is None else f"{i.discrimination:+.2f}")
                            for i in report.items])
    rows = [(slip_name(s.misconception, lang), str(s.answers)) for s in report.slips[:charts.SLIPS_SHOWN]]
    if report.unexplained:
        rows.append((w["unexplained"], str(report.unexplained)))
    return _data_table(lang, [w["slip"], w["slip_count"]], rows)


def _questions_table(report: Report, lang: str) -> str:
    w = words(lang)
    rows = []
    for item in report.items:
        rate = "-" if item.correct_rate is None else f"{item.correct_rate:.0%}"
        disc = "-" if item.discrimination is None else f"{item.discrimination:+.2f}"
        low = item.discrimination is not None and item.discrimination < charts.GOOD_DISCRIMINATION \
            and 0 < (item.correct_rate or 0) < 1  # an item all or none got right tells nothing
        wrong = "".join(
            f"<li>{wa.answers}× <code>{escape(wa.example)}</code> — "
            f"{escape(slip_name(wa.misconception, lang)) if wa.misconception else escape(w['unexplained'])}</li>"
            for wa in item.wrong)
        rows.append("<tr>" + _cell(str(item.slot), "num") + _cell(question_about(item, lang), "about")
                    + _cell(str(item.points), "num")
                    + _cell(str(item.answered), "num") + _cell(rate, "num") + _cell(disc, "num low" if low else "num")
                    + (f'<td><ul class="wrong">{wrong}</ul></td>' if wrong else "<td></td>") + "</tr>")
    return _table([w["question"], w["about"], w["points"], w["answered"], w["correct_rate"], w["discrimination"],
                   w["common_wrong"]], rows, w["questions_title"])


def _slips_table(report: Report, lang: str) -> str:
    w = words(lang)
    if not report.slips:
        return f'<p class="muted">{escape(w["slips_none"])}</p>'
    rows = ["<tr>" + _cell(slip_name(s.misconception, lang), "nowrap") + _cell(str(s.answers), "num")
            + _cell(str(s.students), "num") + _cell(", ".join(map(str, s.slots)), "nowrap")
            + _cell(slip_explanation(s.misconception, lang)) + "</tr>" for s in report.slips]
    if report.unexplained:  # last, whatever its count: the slips are what the table is about
        rows.append("<tr>" + _cell(w["unexplained"], "nowrap") + _cell(str(report.unexplained), "num")
                    + "<td></td><td></td><td></td></tr>")
    return _table([w["slip"], w["slip_answers"], w["slip_students"], w["slip_questions"], w["explanation"]], rows,
                  w["slips_title"])


def _students_table(report: Report, lang: str) -> str:
    w = words(lang)
    rows = []
    for r in report.book.rows:
        cells = "".join(_cell(w["no_answer"] if s is None else score_text(s), "num") for s in r.scores)
        total = w["no_answer"] if all(s is None for s in r.scores) else score_text(r.total)
        rows.append("<tr>" + _cell(r.name) + _cell(r.student) + _cell(total, "num") + cells + "</tr>")
    return _table([w["name"], w["student_id"], f"{w['total']} / {report.book.max_score}",
                   *(str(i.slot) for i in report.items)], rows, w["scores_title"])


def _font_face(path: Path, text: str) -> str:
    """An @font-face rule carrying ``path`` cut down to the characters of ``text`` (a
    few dozen kB instead of megabytes), as WOFF in a data: URL."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]  # hinting sources, which subset cannot cut
    font = subset.load_font(str(path), options)
    font.recalcTimestamp = False  # the same report gives the same file
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    name = charts.font_family_css().split(",")[0]
    data = base64.b64encode(out.getvalue()).decode("ascii")
    return f"@font-face {{ font-family: {name}; src: url(data:font/woff;base64,{data}) format('woff'); }}\n"


_TAGS = re.compile(r"<[^>]*>")


def report_html(report: Report, lang: str | None = None) -> Page:
    """The report as a self-contained HTML page in ``lang`` (default: the quiz's)."""
    lang = lang or report.book.info.language
    w = words(lang)
    title, summary = heading(report, lang)
    svgs = charts.report_svgs(report, lang)
    missing = tuple(dict.fromkeys(ch for d in svgs.values() for ch in d.missing))
    figures = "".join(f"<figure>{_svg_element(svgs[p].data, p, w[_LABELS[p]])}{_chart_data(report, p, lang)}"
                      "</figure>" for p in charts.PANELS)
    body = (f"<main>\n<h1>{escape(title)}</h1>\n<p class=\"summary\">{escape(summary)}</p>\n"
            f"<section class=\"charts\" aria-label=\"{escape(w['charts'])}\">{figures}</section>\n"
            f"<h2>{escape(w['questions_title'])}</h2>\n{_questions_table(report, lang)}\n"
            f"<h2>{escape(w['slips_title'])}</h2>\n{_slips_table(report, lang)}\n"
            f"<h2>{escape(w['scores_title'])}</h2>\n{_students_table(report, lang)}\n</main>\n"
            f"<footer>{escape(w['generated_by'].format(version=__version__))}</footer>\n")
    style = STYLE % {"family": charts.font_family_css()}
    font = charts.hangul_font()
    if font is not None:
        style = _font_face(font, unescape(_TAGS.sub("", body)) + title) + style
    page = (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>\n{style}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")
    return Page(page, missing)


_LABELS = {"scores": "score_distribution_title", "correct_rate": "correct_rate_title",
           "discrimination": "discrimination_title", "slips": "slips_title"}
