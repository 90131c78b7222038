"""How a student submits, in words: the page's steps and the command lines, shared by the
token e-mail and the printed handout so both say the same thing (data/handouts.json).

The button names come from the students' page's own wording (data/pages.json), so the
instructions name the buttons the student will see. Command lines quote the student id
and the URL for a POSIX shell."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from ..resources import load_json


def wording(lang: str, section: str) -> dict[str, Any]:
    """One section (``submit``, ``mail``, ``paper``) of data/handouts.json in ``lang``."""
    table = load_json("handouts.json")
    return dict(table.get(lang, table["en"])[section])


@dataclass(frozen=True)
class SubmitSteps:
    page_heading: str
    page: list[str]  # numbered steps on the web page
    cli_heading: str
    commands: list[str]  # what to type, one command a line
    cli_note: str


def submit_steps(lang: str, url: str, quiz: int | None, student: str) -> SubmitSteps:
    """The web page's steps and the commands for one student (``quiz`` None: the instructor
    names the quiz later; the commands then say ``QUIZ``)."""
    w = wording(lang, "submit")
    page = load_json("pages.json")
    buttons = page.get(lang, page["en"])
    fill = w["page_fill_quiz"] if quiz is not None else w["page_fill"]
    steps = [w["page_open"].format(url=url), fill.format(quiz=quiz, open=buttons["open"]),
             w["page_submit"].format(submit=buttons["submit"])]
    server, who = shlex.quote(url), shlex.quote(student)
    number = str(quiz) if quiz is not None else "QUIZ"
    login = f"quizgen login --server {server} --student {who}" + (f" --quiz {quiz}" if quiz is not None else "")
    commands = [login, f"quizgen show {number} --server {server}",
                f"quizgen submit {number} --server {server} --answer {w['cli_answer_example']}"]
    return SubmitSteps(w["page_heading"], steps, w["cli_heading"], commands, w["cli_login_note"])
