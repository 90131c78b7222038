"""What confirms a question's answer beyond the model Keras builds from its spec.

Keras confirms every layer's output shape and count (nn/keras_check.py). Two kinds ask for
something else, and are confirmed here, when a quiz is generated and by ``quizgen verify``:

- ``rnn-step`` asks for hidden state values: they are worked out again with the project's
  numpy RNN (nn/reference.py, the seed's In[7]–In[10] as library code, which the tests hold
  to Keras's SimpleRNN) and must round to the stored answer;
- ``gate-weights`` asks for weight shapes: the layer is built in Keras and the shapes of its
  ``weights`` must be the stored ones.

numpy and Keras are imported only when such a question is confirmed.
"""

from __future__ import annotations

from typing import Any


def extra_mismatches(kind: str, spec: dict[str, Any], answer: dict[str, Any],
                     checker: Any) -> list[tuple[str, Any, Any]]:
    """(what, stored, confirmed) for every part of the answer the confirmation disagrees with."""
    if kind == "rnn-step":
        return _rnn_step(answer)
    if kind == "gate-weights":
        return _gate_weights(spec, answer, checker)
    return []


def _rnn_step(answer: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    import numpy as np

    from ..nn.reference import simple_rnn
    from .rnn_inside import rounded

    given = answer["given"]
    states = simple_rnn(np.array(given["inputs"], dtype=float), np.array(given["W_x"], dtype=float),
                        np.array(given["W_h"], dtype=float), np.array(given["b"], dtype=float))
    last = [rounded(float(v)) for v in states[-1]]
    stored = {p["key"]: p["value"] for p in answer["parts"]}
    return [(f"answer part h{i} (numpy reference)", stored.get(f"h{i}"), value)
            for i, value in enumerate(last) if stored.get(f"h{i}") != value]


def _gate_weights(spec: dict[str, Any], answer: dict[str, Any], checker: Any) -> list[tuple[str, Any, Any]]:
    layer = checker.build_layer(spec["layers"][0])
    layer.build((None, *spec["input"]["shape"]))
    shapes = [list(w.shape) for w in layer.weights]
    stored = {p["key"]: p["value"] for p in answer["parts"]}
    backward = len(shapes) == 6  # a Bidirectional layer: forward's three arrays, then backward's
    seen: dict[str, Any] = {"kernel": shapes[0], "recurrent_kernel": shapes[4 if backward else 1], "bias": shapes[2]}
    if "count" in stored:
        seen["count"] = len(shapes)
    return [(f"answer part {key} (Keras weights)", stored[key], value)
            for key, value in seen.items() if key in stored and stored[key] != value]
