"""A launched student's quiz and submissions: the same library calls as the students'
page (``quiz_for_student``, ``submit_attempt``), authenticated by the short-lived
credential the launch sealed for this student and quiz instead of their token. The
credential travels in the page's form (no cookie: the page runs in the LMS's frame),
and every page drawn carries a fresh one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...receipts import Signer
from ...store.db import Store
from ..attempts import RateLimit, Submitted, submit_attempt
from ..students import Vouched
from ..submissions import StudentQuiz, quiz_for_student
from .keys import ToolKeys
from .launch import StudentLaunch, StudentPass, open_student, seal_student
from .refusals import LaunchRefused


@dataclass(frozen=True)
class LaunchedQuiz:
    view: StudentQuiz
    launched: StudentPass
    credential: str  # a fresh one, for the page's form


def launched_quiz(store: Store, keys: ToolKeys, credential: str) -> LaunchedQuiz:
    """The student's questions for the quiz their credential is for."""
    return _questions(store, keys, open_student(store, keys, credential))


def just_launched(store: Store, keys: ToolKeys, launch: StudentLaunch) -> LaunchedQuiz:
    """The questions a student's launch opens on (its credential made a moment ago)."""
    return _questions(store, keys, StudentPass(launch.student, launch.quiz_id, launch.platform, launch.frames))


def _questions(store: Store, keys: ToolKeys, launched: StudentPass) -> LaunchedQuiz:
    view = quiz_for_student(store, launched.quiz_id, launched.student, Vouched(launched.student, launched.quiz_id))
    return LaunchedQuiz(view, launched, _renewed(keys, launched))


@dataclass(frozen=True)
class LaunchedSubmission:
    done: Submitted
    view: StudentQuiz | None  # the quiz after it (None if it could not be read again)
    launched: StudentPass
    credential: str


def launched_submit(store: Store, keys: ToolKeys, credential: str, student: str, answers: Mapping[str, str], *,
                    idempotency_key: str, signer: Signer, rate_limit: RateLimit) -> LaunchedSubmission:
    """Record one attempt as the page does (graded on arrival where the policy shows scores,
    a signed receipt) for ``student``, who must be the one the credential stands for; its
    grade queues the student's score for the LMS in the same transaction (grading.passback)."""
    launched = open_student(store, keys, credential)
    if student != launched.student:
        raise LaunchRefused("credential", "the form names another student than its credential")
    vouched = Vouched(launched.student, launched.quiz_id)
    done = submit_attempt(store, launched.quiz_id, launched.student, vouched, answers, source="http",
                          idempotency_key=idempotency_key, signer=signer, grade_on_arrival=True,
                          rate_limit=rate_limit)
    try:
        view: StudentQuiz | None = quiz_for_student(store, launched.quiz_id, launched.student, vouched)
    except Exception:  # noqa: BLE001 - the attempt is stored: show its receipt without the quiz's state
        view = None
    return LaunchedSubmission(done, view, launched, _renewed(keys, launched))


def _renewed(keys: ToolKeys, launched: StudentPass) -> str:
    return seal_student(keys, launched.student, launched.quiz_id, launched.platform.id, launched.frames)
