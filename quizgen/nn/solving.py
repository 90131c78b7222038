"""``quizgen solve``'s work: read the specs (or the models in code), solve each, confirm it in
Keras when asked, and render each result as the command prints it.

The command parses its options, calls :func:`solve_file` and prints what each
:class:`Solved` renders; every decision (what a bad spec line becomes, when Keras is
loaded, what goes to standard error) is made here, so another front end gets the
same answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from .solver import Solution, solve_raw
from .specfile import SpecInput, read_code, read_specs
from .summary import format_summary, format_working


@dataclass(frozen=True)
class Solved:
    """One spec's outcome: its solution or the reason it was refused, Keras's verdict when
    confirmed, or (``--execute``) the models Keras built from the code, as JSON."""

    label: str
    solution: Solution | None = None
    error: str | None = None
    verdict: Any = None  # keras_check.Verdict
    executed: dict[str, Any] | None = None
    note: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.verdict is not None and not self.verdict.agree)

    @staticmethod
    def from_keras(model: Any) -> Solved:
        """A model ``--execute`` found (executed.ExecutedModel): Keras's counts, or why it has none."""
        label = f"model {model.label!r}" if model.label != "the file" else "the file"
        if model.data is not None:
            return Solved(label, executed={**model.data, "summary": model.summary})
        return Solved(label, error=model.error,
                      executed={"source": "keras", "model": model.label, "error": model.error})

    def json_line(self, lang: str) -> str | None:
        """The line ``--json`` prints, or None when the solution's own UTF-8 line can be used
        (``Solution.to_json_bytes``: the fast path of a plain solve)."""
        if self.executed is not None:
            return json.dumps({k: v for k, v in self.executed.items() if k != "summary"}, ensure_ascii=False)
        if self.error is not None:
            out: dict[str, Any] = {"error": self.error}
            if self.verdict is not None:
                out["keras"] = {"agree": self.verdict.agree, "detail": self.verdict.describe()}
            return json.dumps(out, ensure_ascii=False)
        if self.verdict is None and self.note is None:
            return None
        assert self.solution is not None
        obj = self.solution.to_json(lang)
        if self.note is not None:
            obj["note"] = self.note
        if self.verdict is not None:
            obj["keras"] = {"agree": self.verdict.agree, "detail": self.verdict.describe()}
        return json.dumps(obj, ensure_ascii=False)

    def text(self, lang: str, heading: bool) -> tuple[str, str]:
        """(what goes to standard output, what goes to standard error) without ``--json``;
        ``heading``: name the spec (a file of several)."""
        prefix = f"{self.label}: " if heading else ""
        if self.executed is not None and self.error is None:
            return "\n".join([f"# {self.label} (built and counted by Keras)", self.executed["summary"]]), ""
        if self.error is not None:
            err = f"Error: {prefix}{self.error}"
            if self.verdict is not None and not self.verdict.agree:
                err += f"\n  {self.verdict.describe()}"
            return "", err
        assert self.solution is not None
        parts = [f"# {self.label}"] if heading else []
        parts += [format_summary(self.solution), format_working(self.solution, lang)]
        if self.note is not None:
            parts.append(f"Note: {self.note}")
        if self.verdict is not None:
            parts.append(f"Keras: {self.verdict.describe()}")
        return "\n".join(parts), ""


@dataclass
class SolveRun:
    """The specs of one file and how to solve them; iterate for the results, in order."""

    inputs: Sequence[SpecInput] | Any  # a list, or specfile.JsonLines (decoded as reached)
    verify: bool = False
    executed: Sequence[Solved] | None = None

    def __len__(self) -> int:
        return len(self.executed) if self.executed is not None else len(self.inputs)

    def __iter__(self) -> Iterator[Solved]:
        if self.executed is not None:
            yield from self.executed
            return
        checker = None
        if self.verify:
            from .keras_check import KerasChecker

            checker = KerasChecker()
        for item in self.inputs:
            yield solve_one(item, checker)


def solve_one(item: SpecInput, checker: Any = None) -> Solved:
    """One spec solved (and confirmed by ``checker`` when given)."""
    error, solution = item.error, None
    if error is None:
        try:
            solution = solve_raw(item.raw)
        except SpecError as exc:
            error = exc.message
    verdict = checker.check(item.raw, solution) if checker is not None and item.error is None else None
    return Solved(item.label, solution, error, verdict, note=item.note)


def solve_file(file: str | None, code_file: str | None, stdin_text: str | None, *, verify: bool = False,
               execute: Any = None) -> SolveRun:
    """The specs of ``file`` (JSON, JSON lines, or ``-``), or of the models ``code_file`` builds:
    read without running it, or with ``execute`` (executed.Limits) run by Keras in a child process
    (the instructor's own file only)."""
    if execute is not None:
        from .executed import run_code
        from .specfile import read_text

        assert code_file is not None
        models = run_code(code_file, read_text(code_file, stdin_text), execute)
        return SolveRun((), executed=[Solved.from_keras(m) for m in models])
    if code_file is not None:
        return SolveRun(read_code(code_file, stdin_text), verify)
    assert file is not None
    return SolveRun(read_specs(file, stdin_text), verify)


class JsonLines:
    """JSON lines for standard output, handed to ``write`` a few thousand at a time: the same
    bytes as one write per line, without a write and a flush per spec. With ``binary`` (the
    stream is UTF-8), a solution's line is the UTF-8 the solver keeps for its rows, not
    encoded again."""

    def __init__(self, write: Callable[[Any], None], binary: bool, every: int = 2000) -> None:
        self.write = write
        self.binary = binary
        self.lines: list[Any] = []
        self.every = every

    def add(self, item: Solved, lang: str) -> None:
        line = item.json_line(lang)
        if line is not None:
            self.lines.append(line.encode() if self.binary and not _has_surrogate(line) else line)
        elif not self.binary:
            assert item.solution is not None
            self.lines.append(item.solution.to_json_text(lang))
        else:
            assert item.solution is not None
            try:
                self.lines.append(item.solution.to_json_bytes(lang))
            except UnicodeEncodeError:  # a name with a lone surrogate: the text stream decides what to do
                self.lines.append(item.solution.to_json_text(lang))
        if len(self.lines) >= self.every:
            self.flush()

    def flush(self) -> None:
        run: list[Any] = []
        for line in self.lines:
            if run and type(line) is not type(run[0]):
                self._write(run)
                run = []
            run.append(line)
        if run:
            self._write(run)
        self.lines = []

    def _write(self, run: list[Any]) -> None:
        if type(run[0]) is bytes:
            self.write(b"\n".join(run) + b"\n")
        else:
            self.write("\n".join(run) + "\n")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode()
        return False
    except UnicodeEncodeError:
        return True
