"""A model file read by quizgen and run by Keras, model by model (tests/test_corpus.py, #18).

``keras_models`` runs the file in this process (the tests already hold Keras) in a fresh
naming session and records every keras.Sequential / functional Model the file's own lines
construct, in order, with the line that made it. ``compare`` matches them with the models
quizgen read (CodeModel.line: the same line, in order) and says, per model, whether the
answers agree (each row of model.layers: name, class, output shape, trainable and
non-trainable counts; and the totals), or what kind of disagreement it is.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quizgen.errors import SpecError
from quizgen.nn.code import models_from_code
from quizgen.nn.solver import solve_raw


@dataclass(frozen=True)
class Outcome:
    line: int
    kind: str  # agree, both refuse, wrong, false accept, false reject, keras only, keras 2 note
    detail: str = ""


def keras_models(path: Path) -> tuple[list[tuple[int, Any]], str | None]:
    """(line, model) for every model the file's lines build, and why running stopped, if it did."""
    import keras
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    made: list[tuple[int, Any]] = []
    originals = {cls: cls.__init__ for cls in (Sequential, Functional)}
    code_path = str(path)

    def recording(cls: Any) -> Any:
        original = originals[cls]

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            frame = sys._getframe(1)
            internal = False  # a Sequential's own functional graph, made when it builds
            while frame is not None and frame.f_code.co_filename != code_path:
                internal |= frame.f_code.co_filename.endswith("sequential.py")
                frame = frame.f_back  # type: ignore[assignment]
            if frame is not None and not internal and type(self) in (Sequential, Functional) and \
                    not any(m is self for _, m in made):
                made.append((frame.f_lineno, self))
        return init

    keras.backend.clear_session()
    error = None
    try:
        for cls in originals:
            cls.__init__ = recording(cls)  # type: ignore[method-assign]
        namespace = {"__name__": "__main__", "__file__": code_path}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(path.read_text(encoding="utf-8"), code_path, "exec"), namespace)
    except Exception as exc:  # the models built before are still compared
        error = f"{type(exc).__name__}: {exc}"
    finally:
        for cls, original in originals.items():
            cls.__init__ = original  # type: ignore[method-assign]
    return made, error


def _count(weights: list[Any]) -> int:
    seen, total = set(), 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += math.prod(int(d) for d in w.shape)
    return total


def _keras_rows(model: Any) -> list[tuple[Any, ...]] | None:
    if not model.built:
        return None
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        node = layer._inbound_nodes[-1] if layer._inbound_nodes else None
        outs = node.output_tensors if node is not None else []
        shape: Any = tuple(tuple(t.shape) for t in outs) if len(outs) > 1 else tuple(outs[0].shape) if outs else None
        rows.append((layer.name, type(layer).__name__, shape, _count(layer.trainable_weights),
                     _count(layer.non_trainable_weights)))
    return rows


def _quizgen_rows(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    solution = solve_raw(spec)
    return [(r.name, r.type, tuple(tuple(s) for s in r.output_shape) if r.output_shape and
             isinstance(r.output_shape[0], tuple) else tuple(r.output_shape), r.trainable, r.non_trainable)
            for r in solution.layers]


def compare(path: Path) -> tuple[list[Outcome], str | None]:
    """Each model of the file: quizgen's answer (or refusal) against Keras's."""
    keras_made, stopped = keras_models(path)
    ours = models_from_code(path.read_text(encoding="utf-8"), str(path))
    by_line: dict[int, list[Any]] = defaultdict(list)
    for line, model in keras_made:
        by_line[line].append(model)
    taken: Counter[int] = Counter()
    outcomes = []
    for code_model in ours:
        candidates = by_line.get(code_model.line, [])
        keras_model = candidates[taken[code_model.line]] if taken[code_model.line] < len(candidates) else None
        taken[code_model.line] += 1
        outcomes.append(_judge(code_model, keras_model, stopped))
    return outcomes, stopped


def _judge(code_model: Any, keras_model: Any, stopped: str | None) -> Outcome:
    line = code_model.line
    keras_rows = _keras_rows(keras_model) if keras_model is not None else None
    if code_model.spec is None:
        if keras_rows is None:
            return Outcome(line, "both refuse", code_model.error or "")
        return Outcome(line, "keras only", code_model.error or "")
    try:
        rows = _quizgen_rows(code_model.spec)
    except SpecError as exc:
        if keras_rows is None:
            return Outcome(line, "both refuse", exc.message)
        return Outcome(line, "false reject", exc.message)
    if keras_rows is None:
        if code_model.note:
            return Outcome(line, "keras 2 note", code_model.note)
        why = "Keras did not build it" if keras_model is not None else f"Keras made no model here ({stopped})"
        return Outcome(line, "false accept", why)
    if rows != keras_rows:
        diffs = [f"{a} != {b}" for a, b in zip(rows, keras_rows) if a != b][:2]
        if len(rows) != len(keras_rows):
            diffs.append(f"{len(rows)} rows, Keras {len(keras_rows)}")
        return Outcome(line, "wrong", "; ".join(diffs))
    return Outcome(line, "agree")
