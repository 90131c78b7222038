"""The memory of a model's weights, as Keras 3's ``model.summary()`` prints it.

Keras (keras/src/utils/summary_utils.py) adds up every weight's elements times
its dtype's size (``dtype_utils.dtype_size`` in bits, divided by 8), and prints
the byte count after each ``Total params`` line with ``readable_memory_size``:
divided by 1,024 until it is below 1,024, with two decimals and the unit
(``Total params: 1,234 (4.82 KB)``). A model of float32 weights (Keras's
default) takes 4 bytes a parameter; one built in float16
(``keras.config.set_dtype_policy("float16")`` or ``dtype="float16"`` on every
layer) takes 2.

Questions grade this printed figure (``"4.82 KB"``), not the byte count: it is
what a student reads off the summary. grading/answers.parse_memory reads what a
student writes into the same canonical text (an exact byte count is accepted
and printed the way Keras would print it).
"""

from __future__ import annotations

UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
BYTES_PER_PARAM = {"float32": 4, "float16": 2}


def _sized(n_bytes: float, base: int) -> str:
    """``n_bytes`` in units of ``base`` (each unit ``base`` times the last), two decimals."""
    for unit in UNITS:
        if n_bytes / base < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= base
    return f"{n_bytes:.2f} PB"


def readable_size(n_bytes: float) -> str:
    """Keras's ``readable_memory_size``: 1,024-based units with two decimals (``4.82 KB``)."""
    return _sized(n_bytes, 1024)


def weight_bytes(params: int, dtype: str) -> int:
    """Bytes of ``params`` weights of one dtype."""
    return params * BYTES_PER_PARAM[dtype]


def printed_memory(params: int, dtype: str) -> str:
    """What the summary prints in parentheses after ``Total params: {params:,}``."""
    return readable_size(weight_bytes(params, dtype))


def _decimal_size(n_bytes: float) -> str:
    """The same figure in 1,000-based units (what a student who divides by 1,000 writes)."""
    return _sized(n_bytes, 1000)


def _one_unit_short(n_bytes: int) -> str | None:
    """The figure one unit too small (2068.13 KB for 2.02 MB): the last division left out. Not
    for a figure in KB: its byte count is accepted as right (grading/answers.parse_memory)."""
    steps = 0
    value: float = n_bytes
    while value / 1024 >= 1 and steps < len(UNITS) - 1:
        value /= 1024
        steps += 1
    if steps < 2:
        return None
    return f"{n_bytes / 1024 ** (steps - 1):.2f} {UNITS[steps - 1]}"


def memory_slips(params: int, dtype: str) -> dict[str, str]:
    """Wrong printed figures by slip: 1,000-based units, bits for bytes, the other dtype's
    size, one byte a parameter, one division by 1,024 too few."""
    n_bytes = weight_bytes(params, dtype)
    other = "float16" if dtype == "float32" else "float32"
    out = {
        "memory_decimal_units": _decimal_size(n_bytes),
        "memory_bits": readable_size(n_bytes * 8),
        "memory_dtype_size": printed_memory(params, other),
        "memory_one_byte": readable_size(params),
    }
    short = _one_unit_short(n_bytes)
    if short is not None:
        out["memory_unit_step"] = short
    return out
