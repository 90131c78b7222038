"""Code cells as Python: a notebook's cells, and the IPython lines Python cannot parse.

Shell and magic lines (``!pip install keras``, ``%matplotlib inline``,
``model.summary?``) become ``pass`` at the same indentation, so every other line
keeps its number. A notebook's cells are parsed one by one, their line numbers
moved past the cells before them, so a message can name the cell again.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from dataclasses import dataclass

from ...errors import CodeParseError
from ...files import MalformedJSON, decode_json

# Cell magics whose body is still Python; any other (%%bash, %%writefile...) is not.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_LINE_MAGIC = re.compile(r"^(\s*)(?:[!%]|[\w.]+\?{1,2}\s*$|[\w, ]+=\s*[!%])")


@dataclass(frozen=True)
class Program:
    """Parsed code: one module per cell (one for a .py file) and how to name a line."""

    modules: tuple[ast.Module, ...]
    cell_starts: tuple[int, ...] = ()  # global number of each cell's first line
    cell_numbers: tuple[int, ...] = ()  # each cell's position in the notebook (1-based)

    def where(self, line: int) -> str:
        """``line 12``, or ``cell 4, line 2`` in a notebook."""
        if not self.cell_starts:
            return f"line {line}"
        i = max(bisect.bisect_right(self.cell_starts, line) - 1, 0)
        return f"cell {self.cell_numbers[i]}, line {line - self.cell_starts[i] + 1}"


def strip_ipython(source: str) -> str:
    """The source with IPython-only lines replaced by ``pass``; a non-Python cell magic empties the cell."""
    lines = source.split("\n")
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if len(first) > 2 else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return "\n" * (len(lines) - 1)
    out = []
    continued = False
    for line in lines:
        match = _LINE_MAGIC.match(line)
        if continued or match:
            indent = match.group(1) if match else ""
            out.append(f"{indent}pass" if not continued else "")
            continued = line.rstrip().endswith("\\")
        else:
            out.append(line)
    return "\n".join(out)


# A notebook saved as text (Jupyter's "Download as > text", a copied console): "In [1]:" and
# "Out[1]:" lines around the cells. quizgen reads the notebook itself, or its cells as a .py file.
_SAVED_NOTEBOOK = re.compile(r"^(In|Out)\s*\[\s*\d*\s*\]:", re.MULTILINE)


def parse_python(source: str, filename: str = "<code>") -> Program:
    try:
        return Program((_parse(strip_ipython(source), filename, lambda n: f"line {n}"),))
    except CodeParseError as exc:
        if "not valid Python" not in str(exc):
            raise
        if _SAVED_NOTEBOOK.search(source):
            raise CodeParseError(f"{exc}: this is a notebook saved as text (its \"In [1]:\" lines are not Python); "
                                 "give --from-code the notebook itself (.ipynb), or its code saved as a .py file "
                                 "(Jupyter: File > Download as > Python)") from None
        if source.lstrip().startswith("{"):
            raise CodeParseError(f"{exc}: this looks like JSON; a spec is solved as quizgen solve FILE.json, and "
                                 "--from-code reads Python (.py) or a notebook (.ipynb)") from None
        raise CodeParseError(f"{exc}; --from-code reads Python code (.py) or a Jupyter notebook (.ipynb): "
                             "save the model's code as one of them") from None


def _code_cells(text: str) -> list[tuple[int, str]]:
    """(position in the notebook, source) of each code cell."""
    try:
        nb = decode_json(text)
        cells = [(n, c) for n, c in enumerate(nb["cells"], start=1) if c.get("cell_type") == "code"]
        sources = [(n, "".join(c["source"]) if isinstance(c["source"], list) else c["source"]) for n, c in cells]
        if not all(isinstance(s, str) for _, s in sources):
            raise TypeError("a cell's source is not text")
    except MalformedJSON as exc:
        raise CodeParseError(f"not a Jupyter notebook: malformed JSON ({exc})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise CodeParseError(f"not a Jupyter notebook: {exc}") from None
    return sources


def notebook_python(text: str, filename: str = "<notebook>") -> str:
    """A notebook's code cells as one Python file, in order, its IPython lines made ``pass``."""
    return "\n".join(strip_ipython(source) for _, source in _code_cells(text)) + "\n"


def parse_notebook(text: str, filename: str = "<notebook>") -> Program:
    """Every code cell of a Jupyter notebook, each parsed on its own."""
    sources = _code_cells(text)
    modules, starts, numbers = [], [], []
    offset = 0
    for number, source in sources:
        module = _parse(strip_ipython(source), filename, lambda n, c=number: f"cell {c}, line {n}")
        ast.increment_lineno(module, offset)
        modules.append(module)
        starts.append(offset + 1)
        numbers.append(number)
        offset += source.count("\n") + 1
    return Program(tuple(modules), tuple(starts), tuple(numbers))


def _parse(source: str, filename: str, where) -> ast.Module:
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in a regex string is not the user's question
            warnings.simplefilter("ignore")
            return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise CodeParseError(f"{where(exc.lineno or 1)}: not valid Python ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise CodeParseError("the code is nested too deeply to read") from None
    except ValueError as exc:  # a NUL byte in the source
        raise CodeParseError(f"not valid Python ({exc})") from None
