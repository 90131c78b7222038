"""Inside one recurrent layer: the notebook's numpy RNN stepped by hand (``rnn-step``), and
the weight arrays Keras makes for LSTM, GRU and Bidirectional layers (``gate-weights``).

``rnn-step`` puts small integers into the seed's In[7]–In[10] (hₜ = tanh(W_x·xₜ + W_h·hₜ₋₁ + b),
h₀ = 0) and asks for the last hidden state, to two decimals: easy one step, medium two,
hard two with the weights as Keras stores them (kernel = W_xᵀ, recurrent_kernel = W_hᵀ).
The values are worked out here in plain Python; ``questions.confirm`` checks them with
the project's numpy RNN (nn/reference.py), which the tests hold to Keras's SimpleRNN.

``gate-weights``: easy an LSTM (kernel (d, 4h), recurrent_kernel (h, 4h), bias (4h,)),
medium a GRU as Keras 3 builds it (bias (2, 3h)), hard a Bidirectional layer (six arrays,
one set a direction). ``questions.confirm`` builds the layer in Keras and compares.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import GenerationError
from ..nn.solver import Solution, solve_raw
from .architectures import Sizes
from .prompts import conventions, count, decimal, fenced, finish, labels, part, parts_prompt, shape, t

Built = tuple[str, dict, dict, Callable[[str, dict], str], Solution]
Matrix = list[list[int]]


# ---------------------------------------------------------------- rnn-step

def rounded(x: float) -> str:
    """``x`` to two decimals, half up (as a student rounds), never ``-0.00``."""
    text = f"{Decimal(repr(x)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"
    return "0.00" if text == "-0.00" else text


def _matvec(m: Matrix, v: list[float]) -> list[float]:
    return [sum(a * b for a, b in zip(row, v)) for row in m]


def _transposed(m: Matrix) -> Matrix:
    return [list(col) for col in zip(*m)]


def run(given: Mapping[str, Any], *, tanh: bool = True, bias: bool = True, recurrent: bool = True,
        squash_states: bool = True, recurrent_transposed: bool = False, steps: int | None = None,
        last_preactivation: bool = False) -> list[float]:
    """The notebook's loop over ``given``'s inputs: the last hidden state, or (with a flag
    off) what a student who slips that way gets: no tanh anywhere, no bias, no W_h, a state
    carried on before its tanh, W_h used the wrong way round, stopping early, or the last
    step's value before its tanh."""
    w_x, w_h, b = given["W_x"], given["W_h"], given["b"]
    if recurrent_transposed:
        w_h = _transposed(w_h)
    inputs = given["inputs"][: steps or len(given["inputs"])]
    state = [0.0] * len(b)
    for n, x in enumerate(inputs, start=1):
        z = [a + (c if recurrent else 0.0) + (d if bias else 0) for a, c, d in
             zip(_matvec(w_x, x), _matvec(w_h, state), b)]
        if last_preactivation and n == len(inputs):
            return z
        state = [math.tanh(v) for v in z] if tanh and (squash_states or n == len(inputs)) else z
    return state


def step_slips(given: Mapping[str, Any]) -> dict[str, list[float]]:
    """Each slip's last hidden state (before rounding)."""
    out = {"no_tanh": run(given, last_preactivation=True), "no_bias": run(given, bias=False)}
    if len(given["inputs"]) > 1:
        out["no_recurrent"] = run(given, recurrent=False)
        out["unsquashed_state"] = run(given, squash_states=False)
        out["first_step_only"] = run(given, steps=1)
        if given.get("form") == "keras":
            out["recurrent_transposed"] = run(given, recurrent_transposed=True)
    return out


def _robust(given: dict[str, Any]) -> bool:
    """Whether the answer is safe to round: no value within 0.001 of a rounding boundary, and
    the same answer when a student carries the first state rounded to two decimals."""
    exact = run(given)
    if any(abs(v * 100 - math.floor(v * 100) - 0.5) < 0.1 for v in exact):
        return False
    if len(given["inputs"]) > 1:
        h1 = [float(rounded(v)) for v in run(given, steps=1)]
        z = [a + c + d for a, c, d in zip(_matvec(given["W_x"], given["inputs"][-1]), _matvec(given["W_h"], h1),
                                          given["b"])]
        if [rounded(math.tanh(v)) for v in z] != [rounded(v) for v in exact]:
            return False
    return all(abs(v) > 1e-9 for v in run(given, steps=1, last_preactivation=True))


def element_slips(given: Mapping[str, Any], i: int) -> dict[str, str]:
    """The slips that show in element ``i`` of the last state: each one's rounded value, where
    it is wrong and no other slip rounds to it (a slip a bias of 0 cannot show, or that two
    slips share, is not named in that element)."""
    right = rounded(run(given)[i])
    values = {slip: rounded(v[i]) for slip, v in step_slips(given).items()}
    shared = {v for v in values.values() if list(values.values()).count(v) > 1}
    return {slip: v for slip, v in values.items() if v != right and v not in shared}


def _slips_show(given: dict[str, Any]) -> bool:
    """Whether every slip shows in at least one element, so feedback can name each of them."""
    shown = set().union(*(element_slips(given, i) for i in range(len(given["b"]))))
    return shown == set(step_slips(given))


def rnn_step(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    steps = 1 if difficulty == "easy" else 2
    form = "keras" if difficulty == "hard" else "numpy"
    input_dim = srng.choice((2, 3))
    units = srng.choice((2, 3))
    rng = sizes.rng
    for _ in range(5000):
        given: dict[str, Any] = {
            "W_x": [[rng.choice((-1, 0, 1, 2)) for _ in range(input_dim)] for _ in range(units)],
            "W_h": [[rng.choice((-1, 0, 1)) for _ in range(units)] for _ in range(units)],
            "b": [rng.choice((-1, 0, 1)) for _ in range(units)],
            "inputs": [[rng.choice((0, 1, 2)) for _ in range(input_dim)] for _ in range(steps)],
            "form": form,
        }
        if steps > 1 and given["W_h"] == _transposed(given["W_h"]) and form == "keras":
            continue  # a symmetric W_h hides the transposed recurrent kernel
        if steps > 1 and not any(any(row) for row in given["W_h"]):
            continue
        if all(abs(z) <= 3 for z in run(given, steps=1, last_preactivation=True)) and _robust(given) \
                and _slips_show(given):
            break
    else:
        raise GenerationError("internal: no small integer RNN whose hidden state rounds safely")
    spec = {"input": {"shape": [steps, input_dim]},
            "layers": [{"type": "SimpleRNN", "units": units, "return_sequences": True}]}
    code = _step_code(given)

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        words = t(lang)["rnn-step"]
        return parts_prompt(words[form].format(steps=steps, s="" if steps == 1 else "s"), fenced(code, "python"),
                            answer["parts"], lang)

    return form, spec, {"given": given}, prompt, solve_raw(spec)


def _py(m: Any) -> str:
    return repr(m).replace("'", "")


def _step_code(given: Mapping[str, Any]) -> str:
    units, input_dim = len(given["W_x"]), len(given["W_x"][0])
    if given["form"] == "keras":
        return "\n".join([
            "import numpy as np",
            "from keras.layers import SimpleRNN",
            "",
            f"layer = SimpleRNN({units})",
            f"kernel = {_py(_transposed(given['W_x']))}  # (input_dim, units) = ({input_dim}, {units})",
            f"recurrent_kernel = {_py(_transposed(given['W_h']))}  # (units, units) = ({units}, {units})",
            f"bias = {_py(given['b'])}",
            f"layer.build((None, None, {input_dim}))",
            "layer.set_weights([np.array(kernel), np.array(recurrent_kernel), np.array(bias)])",
            f"x = np.array([{_py(given['inputs'])}])  # (batch, timesteps, input_dim)",
            "h = layer(x)",
        ])
    return "\n".join([
        "import numpy as np",
        "",
        f"W_x = np.array({_py(given['W_x'])})  # (hidden_units, input_dim) = ({units}, {input_dim})",
        f"W_h = np.array({_py(given['W_h'])})  # (hidden_units, hidden_units)",
        f"b = np.array({_py(given['b'])})",
        f"inputs = np.array({_py(given['inputs'])})  # (timesteps, input_dim)",
        f"hidden_state_t = np.zeros(({units},))",
        "",
        "for input_t in inputs:",
        "    output_t = np.tanh(np.dot(W_x, input_t) + np.dot(W_h, hidden_state_t) + b)",
        "    hidden_state_t = output_t",
    ])


def step_answer(given: Mapping[str, Any]) -> dict[str, Any]:
    var = "h" if given.get("form") == "keras" else "hidden_state_t"
    final = run(given)
    parts = [part(f"h{i}", decimal(rounded(v)), labels("state_component", var=var, i=i)) for i, v in enumerate(final)]
    return {"type": "parts", "parts": parts, "given": dict(given)}


def step_working(given: Mapping[str, Any], lang: str) -> str:
    words = t(lang)["explain"]
    lines = [words["rnn_step_rule"] if given.get("form") != "keras" else words["rnn_step_keras"]]
    state = [0.0] * len(given["b"])
    for n, x in enumerate(given["inputs"], start=1):
        wx = _matvec(given["W_x"], x)
        wh = _matvec(given["W_h"], state)
        z = [a + c + d for a, c, d in zip(wx, wh, given["b"])]
        state = [math.tanh(v) for v in z]
        lines.append(words["rnn_step_line"].format(t=n, wx=_vec(wx), wh=_vec(wh), b=_vec(given["b"]), z=_vec(z),
                                                   h=_vec(state, 4)))
    lines.append(words["rnn_step_answer"].format(h=", ".join(rounded(v) for v in state)))
    return finish("\n".join(lines), lang)


def _vec(values: list[float] | list[int], places: int = 0) -> str:
    def one(v: float) -> str:
        if places or v != int(v):
            return f"{v:.{places or 4}f}"
        return str(int(v))
    return "[" + ", ".join(one(v) for v in values) + "]"


# ---------------------------------------------------------------- gate-weights

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def gate_weights(srng: random.Random, sizes: Sizes, difficulty: str) -> Built:
    cell = {"easy": "LSTM", "medium": "GRU"}.get(difficulty) or srng.choice(("LSTM", "GRU"))
    bidi = difficulty == "hard"
    gates = GATES[cell]
    input_dim = sizes.pick("embed", (16, 32, 50, 64, 100, 128))
    units = sizes.pick("hidden", (16, 32, 64, 100, 128, 256), lambda h: h != input_dim and gates * h != input_dim
                       and input_dim <= 4 * h and h <= 4 * input_dim)
    timesteps = sizes.pick("seq_len", None, lambda n: n not in (input_dim, units))
    layer: dict[str, Any] = {"type": cell, "units": units}
    spec = {"input": {"shape": [timesteps, input_dim]},
            "layers": [{"type": "Bidirectional", "layer": layer} if bidi else layer]}
    shown = f"Bidirectional({cell}({units}))" if bidi else f"{cell}({units})"
    code = "\n".join([
        f"layer = {shown}",
        f"model = Sequential([Input(shape=({timesteps}, {input_dim})), layer])",
        "for w in layer.weights:",
        "    print(w.path, w.shape)",
    ])
    template = "bidirectional" if bidi else "layer"

    def prompt(lang: str, answer: dict[str, Any]) -> str:
        return parts_prompt(t(lang)["gate-weights"][template], fenced(code, "python"), answer["parts"], lang,
                            notes=conventions([spec], lang), arrays=True)

    return template, spec, {}, prompt, solve_raw(spec)


def weight_shapes_of(spec: dict[str, Any]) -> tuple[str, bool, int, int, bool]:
    """(cell type, bidirectional, input dim, units, reset_after) of a gate-weights spec."""
    outer = spec["layers"][0]
    bidi = outer["type"] == "Bidirectional"
    cell = outer["layer"] if bidi else outer
    return cell["type"], bidi, spec["input"]["shape"][-1], cell["units"], cell.get("reset_after", True)


def keras_weight_shapes(spec: dict[str, Any]) -> list[tuple[int, ...]]:
    """The shapes of ``layer.weights`` in Keras's order, as the formulas give them."""
    cell, bidi, d, h, reset_after = weight_shapes_of(spec)
    g = GATES[cell]
    bias: tuple[int, ...] = (2, g * h) if cell == "GRU" and reset_after else (g * h,)
    one = [(d, g * h), (h, g * h), bias]
    return one * 2 if bidi else one


def gate_answer(spec: dict[str, Any]) -> dict[str, Any]:
    cell, bidi, _, _, _ = weight_shapes_of(spec)
    kernel, recurrent, bias = keras_weight_shapes(spec)[:3]
    if bidi:
        parts = [part("count", count(6), labels("weights_count")),
                 part("kernel", shape(kernel), labels("forward_kernel")),
                 part("recurrent_kernel", shape(recurrent), labels("backward_recurrent_kernel")),
                 part("bias", shape(bias), labels("direction_bias"))]
    else:
        parts = [part("kernel", shape(kernel), labels("kernel_shape")),
                 part("recurrent_kernel", shape(recurrent), labels("recurrent_kernel_shape")),
                 part("bias", shape(bias), labels("bias_shape"))]
    return {"type": "parts", "parts": parts}


def gate_facts(solution: Solution) -> tuple[str, bool, int, int, bool]:
    """(cell type, bidirectional, input dim, units, reset_after) read from a solved gate-weights spec."""
    row = solution.layers[0]
    inner = row.derivation.layer_type
    bidi = inner.startswith("Bidirectional(")
    cell = inner[len("Bidirectional("):-1] if bidi else inner
    values = row.derivation.symbol_values()
    return cell, bidi, values["d"], values["h"], "gru_reset_after" in row.derivation.notes


def gate_slips(key: str, solution: Solution) -> dict[str, Any]:
    """Wrong shapes (or counts) of one part of a gate-weights question, by slip."""
    cell, bidi, d, h, reset_after = gate_facts(solution)
    g = GATES[cell]
    if key == "count":
        return {"bidi_not_doubled": 3}
    if key == "kernel":
        return {"gates_not_stacked": (d, h), "kernel_transposed": (g * h, d), "kernel_as_recurrent": (h, g * h)}
    if key == "recurrent_kernel":
        return {"gates_not_stacked": (h, h), "recurrent_as_kernel": (d, g * h), "kernel_transposed": (g * h, h)}
    out: dict[str, Any] = {"gates_not_stacked": (2, h) if cell == "GRU" and reset_after else (h,)}
    if cell == "GRU" and reset_after:
        out["gru_single_bias"] = (g * h,)
    else:
        out["two_bias_rows"] = (2, g * h)
    return out


def gate_working(spec: dict[str, Any], lang: str) -> str:
    words = t(lang)["explain"]
    cell, bidi, d, h, reset_after = weight_shapes_of(spec)
    g = GATES[cell]
    lines = [words["gates_" + cell].format(g=g),
             words["gate_kernel"].format(d=d, g=g, h=h, gh=g * h),
             words["gate_recurrent"].format(g=g, h=h, gh=g * h),
             words["gate_bias_gru" if cell == "GRU" and reset_after else "gate_bias"].format(g=g, h=h, gh=g * h)]
    if bidi:
        lines.append(words["gate_bidirectional"])
    return finish("\n".join(lines), lang)


BUILDERS: dict[str, Callable[[random.Random, Sizes, str], Built]] = {"rnn-step": rnn_step, "gate-weights": gate_weights}
