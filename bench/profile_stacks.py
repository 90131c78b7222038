"""Where a server worker's CPU went, from py-spy's collapsed stacks (``py-spy record
--format raw``: one line per distinct stack, ``frame;frame;...;leaf COUNT``, each frame
``function (file:line)``). bench_service.py records with ``--gil`` (only the thread
holding Python's GIL), so the shares are shares of the Python work the worker did.

Each sample is put in one step of the submission path, the innermost quizgen step on
its stack (STEPS, innermost wins), or, outside them, in the layer it ran in (the HTTP
server, FastAPI, the event loop, the sequencer); and, across steps, in the library its
innermost frame belongs to (SQLAlchemy, the database driver's execute and commit,
json, cryptography...).

    python bench/profile_stacks.py DIR/quizgen-*.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# (step, function name as py-spy shows it (methods qualified), a part of the file's path);
# the innermost match on a stack wins. Names of the submission path before and after #17.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("sequencer (tlog)", "sequence_pending", "classroom/tlog.py"),
    ("LTI passback sender", "Sender._run", "lti/passback.py"),
    ("route: parse headers, body", "_answers", "service/api.py"),
    ("route: parse headers, body", "credentials", "service/api.py"),
    ("route: other", "submit", "service/api.py"),
    ("failed-login throttle", "_throttle", "service/api.py"),
    ("recorder (queue, threads)", "Recorder._run", "service/recorder.py"),
    ("recorder (queue, threads)", "Recorder._one", "service/recorder.py"),
    ("submit: other", "submit_attempt", "classroom/attempts.py"),
    ("submit: other", "record_attempts", "classroom/attempts.py"),
    ("submit: other", "_prepare", "classroom/attempts.py"),
    ("submit: transaction (session, begin, commit)", "Store.write", "store/db.py"),
    ("submit: transaction (session, begin, commit)", "Store.read", "store/db.py"),
    ("submit: transaction (session, begin, commit)", "Store.cursor", "store/db.py"),
    ("submit: authenticate", "authenticate", "classroom/students.py"),
    ("submit: authenticate", "authenticated_pk", "classroom/students.py"),
    ("submit: quiz row", "get_quiz_row", "classroom/submissions.py"),
    ("submit: questions", "load_slots", "classroom/submissions.py"),
    ("submit: questions", "_variant", "classroom/attempts.py"),
    ("submit: rules (extension)", "student_rules", "classroom/policies.py"),
    ("submit: parse answers", "parse_submission", "classroom/submissions.py"),
    ("submit: locks", "lock_for_attempts", "classroom/attempts.py"),
    ("submit: idempotency look-up", "_seen", "classroom/attempts.py"),
    ("submit: attempts used", "attempts_used", "classroom/submissions.py"),
    ("submit: rate limit", "_refuse_if_rate_limited", "classroom/attempts.py"),
    ("submit: locks and the rules' read", "_check", "classroom/attempts.py"),
    ("submit: rules", "_rules", "classroom/attempts.py"),
    ("submit: record (rows, leaf, sign)", "record_attempt", "classroom/attempts.py"),
    ("submit: record (rows, leaf, sign)", "_record", "classroom/attempts.py"),
    ("submit: sign receipt", "Signer.sign", "quizgen/receipts.py"),
    ("submit: leaf and answers hashes", "signed_attempt", "classroom/attempts.py"),
    ("submit: grade", "_grade", "classroom/attempts.py"),
    ("submit: grade", "_grades", "classroom/attempts.py"),
    ("submit: grade", "compute_grades", "grading/scoring.py"),
    ("submit: insert grades", "insert_grades", "grading/batch.py"),
    ("submit: insert grades", "insert_attempt_grades", "grading/batch.py"),
    ("submit: LTI passback queue", "queue_for_submissions", "grading/passback.py"),
    ("submit: response body", "_response", "classroom/attempts.py"),
    ("submit: response body", "_json", "classroom/attempts.py"),
    ("submit: replay", "_replay", "classroom/attempts.py"),
    ("statements: parameters and rows", "_Compiled.params", "store/prepared.py"),
    ("statements: parameters and rows", "_Compiled.row", "store/prepared.py"),
    ("statements: the driver executing", "Cursor._execute", "store/prepared.py"),
    ("route: response", "render", "responses.py"),
    ("route: response", "Response.__init__", "responses.py"),
)
_OUTER = (
    ("HTTP server (uvicorn, h11/httptools)", ("uvicorn/",)),
    ("ASGI middleware (quizgen's)", ("service/middleware.py",)),
    ("FastAPI / Starlette routing, dependencies", ("fastapi/", "starlette/")),
    ("event loop, threads (asyncio, anyio)", ("asyncio/", "anyio/", "threading.py", "concurrent/")),
)
_LIBRARIES = (
    ("database driver: execute", ("do_execute", "do_executemany", "exec_driver_sql", "_execute_context"), "func"),
    ("database driver: commit", ("do_commit", "commit"), "func"),
    ("SQLAlchemy ORM", ("sqlalchemy/orm/",), "file"),
    ("SQLAlchemy Core (compile, execute, rows)", ("sqlalchemy/",), "file"),
    ("psycopg", ("psycopg/", "psycopg_binary"), "file"),
    ("pydantic", ("pydantic",), "file"),
    ("json", ("json/",), "file"),
    ("cryptography (Ed25519)", ("cryptography/",), "file"),
    ("FastAPI / Starlette", ("fastapi/", "starlette/"), "file"),
    ("uvicorn / h11 / httptools", ("uvicorn/", "h11/", "httptools/"), "file"),
    ("asyncio / anyio / threading", ("asyncio/", "anyio/", "threading.py", "concurrent/", "selectors.py"), "file"),
    ("quizgen", ("quizgen/",), "file"),
)


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack.split(";"):
        m = _FRAME.match(frame.strip())
        out.append((m.group("func"), m.group("file")) if m else (frame.strip(), ""))
    return out


def step_of(frames: list[tuple[str, str]]) -> str:
    """The innermost quizgen step on the stack, else the layer the sample ran in."""
    for func, file in reversed(frames):
        for step, name, part in STEPS:
            if func == name and part in file:
                return step
    for _, file in reversed(frames):
        for layer, parts in _OUTER:
            if any(p in file for p in parts):
                return layer
    return "other"


def library_of(frames: list[tuple[str, str]]) -> str:
    """The library of the innermost frame (the driver's execute and commit named apart)."""
    if not frames:
        return "other"
    func, file = frames[-1]
    for name, keys, by in _LIBRARIES:
        if by == "func" and func in keys and ("sqlalchemy" in file or "sqlite3" in file or "psycopg" in file):
            return name
        if by == "file" and any(k in file for k in keys):
            return name
    return "other (stdlib, ...)"


def read(paths: Iterable[Path]) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks.append((_frames(stack)[2:], int(count)))  # process and thread frames first
    return stacks


def summary(paths: Iterable[Path], indent: str = "", top: int = 24) -> str:
    stacks = read(paths)
    total = sum(n for _, n in stacks)
    if not total:
        return f"{indent}(no samples)"
    steps: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    for frames, n in stacks:
        steps[step_of(frames)] += n
        libraries[library_of(frames)] += n
    lines = [f"{indent}where the workers' CPU went ({total:,} on-CPU samples):"]
    lines += [f"{indent}  {100 * n / total:5.1f}%  {step}" for step, n in steps.most_common(top)]
    lines.append(f"{indent}by library (innermost frame):")
    lines += [f"{indent}  {100 * n / total:5.1f}%  {lib}" for lib, n in libraries.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(p) for p in sys.argv[1:]))
