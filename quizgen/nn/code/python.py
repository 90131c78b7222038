"""A reader of the Python that textbook cells are written in: statements read, never run.

It evaluates what a cell computes from constants (sizes, lists, loops over literal
lists and ranges, conditional expressions, f-strings, helper functions) and hands
everything else to a subclass (:class:`quizgen.nn.code.reader.Reader` follows Keras).
What cannot be known without running the code becomes :class:`Unknown`, carrying why;
code the reader skips (a ``while`` loop, an ``if`` it cannot decide, a long loop over
data) leaves the names it sets Unknown, so nothing stale is ever read as a constant.
Limits on steps, lengths and sizes keep hostile input from taking time or memory.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ...errors import CodeParseError, clip
from .values import (
    BoundMethod,
    Builtin,
    ModuleRef,
    OpaqueClass,
    Refused,
    Unknown,
    UserFunction,
    first_unknown,
    leaves,
)

MAX_STEPS = 200_000  # statements and calls read; a loop of textbook size takes hundreds
MAX_CALL_DEPTH = 50
MAX_SEQUENCE = 100_000  # longest list, string or range the reader builds
MAX_DATA = 2_000_000  # items and characters the reader builds in all
MAX_NUMBER = 10**100
MAX_PLAIN_STEPS = 10_000  # a loop that builds no layer and takes longer is not followed

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_PURE_BUILTINS = frozenset(
    [
        "len",
        "range",
        "str",
        "int",
        "float",
        "bool",
        "min",
        "max",
        "abs",
        "round",
        "sum",
        "list",
        "tuple",
        "sorted",
        "reversed",
        "enumerate",
        "zip",
        "print",
        "dict",
        "isinstance",
        "set",
        "frozenset",
    ]
)
_STRUCTURAL_BUILTINS = frozenset(["len", "list", "tuple", "zip", "enumerate", "reversed", "dict"])
_LIST_METHODS = frozenset(["append", "extend", "insert", "pop", "copy", "index", "count"])
_STR_METHODS = frozenset(["format", "join", "upper", "lower", "replace", "strip", "lstrip", "rstrip", "split",
                          "rsplit", "startswith", "endswith", "count", "find", "index", "title", "capitalize",
                          "isdigit", "isalpha", "splitlines", "zfill", "center", "ljust", "rjust"])
_SET_METHODS = frozenset(["union", "intersection", "difference", "issubset", "issuperset", "copy"])
_DICT_METHODS = frozenset(["get", "keys", "values", "items", "copy"])
_TRY_STATEMENTS = tuple(t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None)

class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _TooLong(Exception):
    """A loop that builds no layer ran past its step budget."""


@dataclass
class Scope:
    """Variables of the module or of one function call (globals reached through ``parent``)."""

    vars: dict[str, Any] = field(default_factory=dict)
    parent: Scope | None = None
    global_names: set[str] = field(default_factory=set)

    def lookup(self, name: str) -> tuple[bool, Any]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return True, scope.vars[name]
            scope = scope.parent
        return False, None

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def set(self, name: str, value: Any) -> None:
        target = self.module() if name in self.global_names else self
        target.vars[name] = value


@dataclass(frozen=True)
class CallArgs:
    """A call's evaluated arguments; ``starred`` / ``double_starred`` say ``*x`` / ``**x`` was used."""

    positional: list[Any]
    keywords: dict[str, Any]
    starred: bool
    double_starred: bool



class Interpreter:
    """Reads statements in order in a module scope; a subclass gives library objects their meaning."""

    def __init__(self, where: Callable[[int], str]) -> None:
        self.where = where
        self.module = Scope()
        self.steps = 0
        self.calls: list[tuple[str, int]] = []  # helper functions being read: name, line called at
        self.plain_until: int | None = None  # step budget of a loop that builds no layer
        self.data = 0  # items and characters built so far

    def fail(self, line: int, text: str) -> NoReturn:
        """One line naming where reading stopped (and, inside a helper, where it was called from)."""
        context = "".join(f" (in {name}(), called at {self.where(at)})" for name, at in reversed(self.calls))
        raise CodeParseError(f"{self.where(line)}{context}: {text}")

    def fail_unknown(self, unknown: Unknown) -> NoReturn:
        self.fail(unknown.line, unknown.reason)

    def made(self, value: Any, line: int) -> Any:
        """A value the reader built, counted against MAX_DATA (Unknown once too much is built)."""
        size = len(value) if isinstance(value, (list, tuple, str, dict)) else 1
        if size > MAX_SEQUENCE:
            return Unknown(line, "a value too long to read")
        self.data += size
        if self.data > MAX_DATA:
            return Unknown(line, "the code builds more data than quizgen reads without running it")
        return value

    def step(self, line: int) -> None:
        self.steps += 1
        if self.plain_until is not None and self.steps > self.plain_until:
            raise _TooLong
        if self.steps > MAX_STEPS:
            self.fail(line, f"the code takes more than {MAX_STEPS:,} steps to read without running it "
                            "(a loop that long is not a model definition)")

    def run(self, body: list[ast.stmt], scope: Scope | None = None) -> None:
        scope = scope or self.module
        for stmt in body:
            self.statement(stmt, scope)

    def run_module(self, body: list[ast.stmt]) -> None:
        """The module's statements, each on its own: one that cannot be read makes the names it
        would have set Refused (carrying its refusal), so that only what is built from them is
        refused, and the code around it is still read (recover says what it touched)."""
        for stmt in body:
            try:
                self.statement(stmt, self.module)
            except CodeParseError as exc:
                self.recover(stmt, exc.message if hasattr(exc, "message") else str(exc))

    def recover(self, stmt: ast.stmt, message: str) -> None:
        """After ``stmt`` could not be read: what it assigns or changes becomes Refused."""
        for name in sorted(_names_changed([stmt])):
            self.module.set(name, Refused(stmt.lineno, message))

    def statement(self, stmt: ast.stmt, scope: Scope) -> None:
        self.step(stmt.lineno)
        if isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value, scope)
            for target in stmt.targets:
                self.assign(target, value, scope, stmt.lineno)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, self.expr(stmt.value, scope), scope, stmt.lineno)
        elif isinstance(stmt, ast.AugAssign):
            self.aug_assign(stmt, scope)
        elif isinstance(stmt, ast.Expr):
            self.expr(stmt.value, scope)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self.import_(stmt, scope)
        elif isinstance(stmt, ast.If):
            self.if_(stmt, scope)
        elif isinstance(stmt, ast.For):
            self.for_(stmt, scope)
        elif isinstance(stmt, ast.While):
            if self.builds_model(stmt.body + stmt.orelse, scope):
                self.fail(stmt.lineno, "a while loop that builds layers is not supported "
                                       "(quizgen never runs code); write it as a for loop over range(n)")
            self.not_followed(stmt.body + stmt.orelse, scope, stmt.lineno, "a while loop")
        elif isinstance(stmt, ast.FunctionDef):
            defaults = tuple(self.expr(d, scope) for d in stmt.args.defaults)
            kw_defaults = {a.arg: self.expr(d, scope) for a, d in zip(stmt.args.kwonlyargs, stmt.args.kw_defaults)
                           if d is not None}
            scope.set(stmt.name, UserFunction(stmt, defaults, kw_defaults, scope))
        elif isinstance(stmt, ast.ClassDef):
            scope.set(stmt.name, self.class_value(stmt, scope))
        elif isinstance(stmt, ast.Return):
            raise _Return(None if stmt.value is None else self.expr(stmt.value, scope))
        elif isinstance(stmt, ast.Break):
            raise _Break
        elif isinstance(stmt, ast.Continue):
            raise _Continue
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.expr(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.assign(
                        item.optional_vars, Unknown(stmt.lineno, "a with-statement's value"), scope, stmt.lineno
                    )
            self.run(stmt.body, scope)
        elif isinstance(stmt, _TRY_STATEMENTS):
            self.run(stmt.body, scope)  # the except handlers run only when something fails
            self.run(stmt.orelse, scope)
            self.run(stmt.finalbody, scope)
        elif isinstance(stmt, ast.Global):
            scope.global_names.update(stmt.names)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    scope.vars.pop(target.id, None)

    def assign(self, target: ast.expr, value: Any, scope: Scope, line: int) -> None:
        if isinstance(target, ast.Name):
            self.bound(target.id, value)
            scope.set(target.id, value)
        elif isinstance(target, ast.Attribute):
            self.assign_attribute(self.expr(target.value, scope), target.attr, value, line)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, value, scope, line)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value, scope, line)
        elif isinstance(target, ast.Subscript):
            self.assign_item(target, value, scope)

    def unpack(self, target: ast.Tuple | ast.List, value: Any, scope: Scope, line: int) -> None:
        names = target.elts
        star = next((i for i, e in enumerate(names) if isinstance(e, ast.Starred)), None)
        if isinstance(value, dict):
            value = list(value)
        if self.symbolic(value):
            self.fail(line, self.unpack_message([value], len(names), star is not None))
        if not isinstance(value, (list, tuple, str)):
            for elt in names:
                self.assign(
                    elt,
                    value if isinstance(value, Unknown) else Unknown(line, f"{ast.unparse(target)} cannot be unpacked"),
                    scope,
                    line,
                )
            return
        items = list(value)
        fits = len(items) >= len(names) - 1 if star is not None else len(items) == len(names)
        if not fits:
            if any(self.symbolic(v) for v in leaves(items)):
                self.fail(line, self.unpack_message(items, len(names), star is not None))
            for elt in names:
                self.assign(elt, Unknown(line, f"{ast.unparse(target)} cannot be unpacked"), scope, line)
            return
        if star is None:
            parts: list[Any] = items
        else:
            tail = len(names) - star - 1
            parts = items[:star] + [items[star:len(items) - tail]] + items[len(items) - tail:]
        for elt, part in zip(names, parts):
            self.assign(elt, part, scope, line)

    def assign_item(self, target: ast.Subscript, value: Any, scope: Scope) -> None:
        owner = self.expr(target.value, scope)
        key = self.expr(target.slice, scope)
        try:
            if (
                isinstance(owner, dict)
                and not isinstance(key, Unknown)
                or isinstance(owner, list)
                and isinstance(key, int)
                and not isinstance(key, bool)
            ):
                owner[key] = value
        except (IndexError, TypeError):
            pass

    def aug_assign(self, stmt: ast.AugAssign, scope: Scope) -> None:
        if not isinstance(stmt.target, ast.Name):
            return
        current = self.name(stmt.target, scope)
        value = self.binop(stmt.op, current, self.expr(stmt.value, scope), stmt, inplace=True)
        scope.set(stmt.target.id, value)

    def import_(self, stmt: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    scope.set(alias.asname, self.resolve_path(alias.name))
                else:
                    first = alias.name.split(".")[0]
                    scope.set(first, ModuleRef(first))
            return
        if stmt.level or not stmt.module:
            return
        for alias in stmt.names:
            if alias.name == "*":
                continue  # bare Keras names already resolve to Keras
            scope.set(alias.asname or alias.name, self.resolve_path(f"{stmt.module}.{alias.name}"))

    def if_(self, stmt: ast.If, scope: Scope) -> None:
        test = self.truth(self.expr(stmt.test, scope), stmt.test)
        if isinstance(test, Unknown):
            if self.builds_model(stmt.body + stmt.orelse, scope):
                self.fail(stmt.lineno, f"an if on {quote(ast.unparse(stmt.test))}, which quizgen cannot know "
                                       f"without running the code: {test.reason}")
            self.not_followed(stmt.body + stmt.orelse, scope, stmt.lineno, "an if quizgen cannot decide")
            return
        self.run(stmt.body if test else stmt.orelse, scope)

    def for_(self, stmt: ast.For, scope: Scope) -> None:
        items = self.iterable(self.expr(stmt.iter, scope), stmt.iter)
        if isinstance(items, Unknown):
            if self.builds_model(stmt.body + stmt.orelse, scope):
                self.fail(stmt.lineno, f"a for loop over {quote(ast.unparse(stmt.iter))}, which quizgen cannot "
                                       f"know without running the code: {items.reason}")
            self.not_followed([stmt], scope, stmt.lineno, "a loop quizgen cannot follow")
            return
        if self.plain_until is None and not self.builds_model(stmt.body + stmt.orelse, scope):
            # A loop that builds no layer is followed only while it is short: a long one
            # works on data, and what it computes is simply unknown.
            self.plain_until = self.steps + MAX_PLAIN_STEPS
            try:
                self.loop(stmt, items, scope)
            except _TooLong:
                self.not_followed([stmt], scope, stmt.lineno, "a long loop quizgen does not follow")
            finally:
                self.plain_until = None
            return
        self.loop(stmt, items, scope)

    def loop(self, stmt: ast.For, items: list[Any], scope: Scope) -> None:
        for item in items:
            self.step(stmt.lineno)
            self.assign(stmt.target, item, scope, stmt.lineno)
            try:
                self.run(stmt.body, scope)
            except _Break:
                return
            except _Continue:
                continue
        self.run(stmt.orelse, scope)

    def not_followed(self, body: list[ast.stmt], scope: Scope, line: int, what: str) -> None:
        """Whatever code the reader skips may have set or changed: those names become Unknown."""
        for name in sorted(_names_changed(body)):
            scope.set(name, Unknown(line, f"{name!r} is set in {what} (line {line})"))

    def iterable(self, value: Any, node: ast.expr) -> list[Any] | Unknown:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, (list, tuple, str)):
            return list(value)
        return Unknown(node.lineno, f"{ast.unparse(node)} is not a list quizgen can read")

    def expr(self, node: ast.expr, scope: Scope) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node, scope)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.expr(node.value, scope), node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, scope)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = self.elements(node.elts, scope)
            if isinstance(items, Unknown):
                return items
            if isinstance(node, ast.Tuple):
                return tuple(items)
            if isinstance(node, ast.List):
                return items
            return _frozen(items, node.lineno)
        if isinstance(node, ast.Dict):
            return self.dict_display(node, scope)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, self.expr(node.operand, scope))
        if isinstance(node, ast.BinOp):
            return self.binop(node.op, self.expr(node.left, scope), self.expr(node.right, scope), node)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node, scope)
        if isinstance(node, ast.Compare):
            return self.compare(node, scope)
        if isinstance(node, ast.IfExp):
            test = self.truth(self.expr(node.test, scope), node.test)
            if isinstance(test, Unknown):
                return test
            return self.expr(node.body if test else node.orelse, scope)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.JoinedStr):
            return self.joined_str(node, scope)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            return self.comprehension(node, scope)
        if isinstance(node, ast.NamedExpr):
            value = self.expr(node.value, scope)
            self.assign(node.target, value, scope, node.lineno)
            return value
        return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be read without running the code")

    def name(self, node: ast.Name, scope: Scope) -> Any:
        found, value = scope.lookup(node.id)
        if not found:
            return self.default_name(node.id, node.lineno)
        if isinstance(value, Refused):
            return value
        if isinstance(value, Unknown):
            origin = f" (set at {self.where(value.line)})" if value.line != node.lineno else ""
            return Unknown(node.lineno, f"{node.id!r} is not a constant quizgen can read{origin}")
        return value

    def default_name(self, name: str, line: int) -> Any:
        """A name the code never assigned: a Python builtin (subclasses add the library's names)."""
        if name in _PURE_BUILTINS:
            return Builtin(name)
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        return Unknown(line, f"name {name!r} is not assigned a constant before it is used")

    def attribute(self, owner: Any, node: ast.Attribute) -> Any:
        attr = node.attr
        if isinstance(owner, ModuleRef):
            return self.resolve_path(f"{owner.path}.{attr}")
        if isinstance(owner, Unknown):
            return owner
        if isinstance(owner, list) and attr in _LIST_METHODS:
            return BoundMethod(owner, attr)
        if isinstance(owner, str) and attr in _STR_METHODS:
            return BoundMethod(owner, attr)
        if isinstance(owner, dict) and attr in _DICT_METHODS:
            return BoundMethod(owner, attr)
        if isinstance(owner, (set, frozenset)) and attr in _SET_METHODS:
            return BoundMethod(owner, attr)
        return self.attribute_of(owner, node)

    def subscript(self, node: ast.Subscript, scope: Scope) -> Any:
        owner = self.expr(node.value, scope)
        self.check_operand(owner, node, "indexing")
        key = self.slice_value(node.slice, scope)
        for part in (owner, key):
            if isinstance(part, Unknown):
                return part
        try:
            return owner[key]
        except (IndexError, KeyError, TypeError, ValueError):
            return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be read")

    def slice_value(self, node: ast.expr, scope: Scope) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.expr(p, scope) for p in (node.lower, node.upper, node.step)]
            bad = first_unknown(parts)
            if bad is not None:
                return bad
            if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
                return Unknown(node.lineno, "a slice that is not made of integers")
            return slice(*parts)
        return self.expr(node, scope)

    def elements(self, elts: list[ast.expr], scope: Scope) -> list[Any] | Unknown:
        items: list[Any] = []
        for elt in elts:
            if isinstance(elt, ast.Starred):
                value = self.expr(elt.value, scope)
                if isinstance(value, Unknown):
                    return value
                if not isinstance(value, (list, tuple)):
                    return Unknown(elt.lineno, f"*{quote(ast.unparse(elt.value))} is not a list")
                items.extend(value)
            else:
                items.append(self.expr(elt, scope))
        if len(items) > MAX_SEQUENCE:
            return Unknown(elts[0].lineno, "a list too long to read")
        return items

    def dict_display(self, node: ast.Dict, scope: Scope) -> Any:
        out: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values):
            value = self.expr(value_node, scope)
            if key_node is None:
                if not isinstance(value, dict):
                    return Unknown(node.lineno, "** of a value that is not a dict")
                out.update(value)
                continue
            key = self.expr(key_node, scope)
            try:
                out[key] = value
            except TypeError:
                return Unknown(node.lineno, "a dict key that is not a constant")
        return out

    def unary(self, node: ast.UnaryOp, value: Any) -> Any:
        if isinstance(value, Unknown):
            return value
        if isinstance(node.op, ast.Not):
            truth = self.truth(value, node.operand)
            return truth if isinstance(truth, Unknown) else not truth
        self.check_operand(value, node, "arithmetic")
        if not _is_number(value):
            return Unknown(node.lineno, f"{quote(ast.unparse(node))} is not arithmetic on numbers")
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
        return ~value if isinstance(value, int) else Unknown(node.lineno, "~ of a float")

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST, inplace: bool = False) -> Any:
        line = getattr(node, "lineno", 0)
        text = quote(ast.unparse(node))
        for operand in (left, right):
            self.check_operand(operand, node, "arithmetic")
        for side in (left, right):
            if isinstance(side, Unknown):
                return side
        fn = _BINOPS.get(type(op))
        if fn is None:
            return Unknown(line, f"{text} cannot be read without running the code")
        if _is_number(left) and _is_number(right):
            if isinstance(op, ast.Pow) and abs(right) > 64:
                return Unknown(line, f"{text}: exponent too large")
            try:
                result = fn(left, right)
            except (ArithmeticError, ValueError):
                return Unknown(line, f"{text} cannot be computed")
            if isinstance(result, complex) or (isinstance(result, (int, float)) and abs(result) > MAX_NUMBER):
                return Unknown(line, f"{text}: number too large")
            return result
        if isinstance(op, ast.Add) and type(left) is type(right) and isinstance(left, (str, list, tuple)):
            if len(left) + len(right) > MAX_SEQUENCE:
                return Unknown(line, f"{text}: too long")
            if inplace and isinstance(left, list):
                self.made(right, line)
                left.extend(right)
                return left
            return self.made(left + right, line)
        if isinstance(op, ast.Mult) and isinstance(left, (str, list, tuple)) != isinstance(right, (str, list, tuple)):
            seq, count = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(count, int) and not isinstance(count, bool) and len(seq) * max(count, 0) <= MAX_SEQUENCE:
                return self.made(seq * count, line)
            return Unknown(line, f"{text}: too long")
        if isinstance(op, ast.Mod) and isinstance(left, str) and is_constant(right):
            try:
                result = left % right
            except (TypeError, ValueError):
                return Unknown(line, f"{text} cannot be formatted")
            return self.made(result, line)
        return Unknown(line, f"{text}: arithmetic on values that are not numbers")

    def boolop(self, node: ast.BoolOp, scope: Scope) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.expr(operand, scope)
            truth = self.truth(value, operand)
            if isinstance(truth, Unknown):
                return truth
            if isinstance(node.op, ast.And) and not truth:
                return value
            if isinstance(node.op, ast.Or) and truth:
                return value
        return value

    def compare(self, node: ast.Compare, scope: Scope) -> Any:
        left = self.expr(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node, scope)
            if isinstance(op, (ast.Is, ast.IsNot)):
                ok = _COMPARE[type(op)](left, right)
            else:
                for side in (left, right):
                    if isinstance(side, Unknown):
                        return side
                if not (is_constant(left) and is_constant(right)):
                    return Unknown(node.lineno, f"{quote(ast.unparse(node))} compares values that are not constants")
                try:
                    ok = _COMPARE[type(op)](left, right)
                except TypeError:
                    return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be compared")
            if not ok:
                return False
            left = right
        return True

    def truth(self, value: Any, node: ast.expr) -> Any:
        if isinstance(value, Unknown):
            return value
        if is_constant(value):
            return bool(value)
        known = self.truth_of(value)
        if known is not None:
            return known
        return Unknown(node.lineno, f"whether {quote(ast.unparse(node))} is true is only known when the code runs")

    def joined_str(self, node: ast.JoinedStr, scope: Scope) -> Any:
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            value = self.expr(part.value, scope)
            spec = self.joined_str(part.format_spec, scope) if isinstance(part.format_spec, ast.JoinedStr) else ""
            for v in (value, spec):
                if isinstance(v, Unknown):
                    return v
            if not is_constant(value) or any(len(d) > 3 for d in _digit_runs(spec)):
                return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be formatted")
            if part.conversion == ord("r"):
                value = repr(value)
            elif part.conversion in (ord("s"), ord("a")):
                value = str(value) if part.conversion == ord("s") else ascii(value)
            try:
                out.append(format(value, spec))
            except (TypeError, ValueError):
                return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be formatted")
        return self.made("".join(out), node.lineno)

    def comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp | ast.DictComp, scope: Scope) -> Any:
        inner = Scope(parent=scope)
        results: list[Any] = []

        def loop(i: int) -> Unknown | None:
            if i == len(node.generators):
                if isinstance(node, ast.DictComp):
                    results.append((self.expr(node.key, inner), self.expr(node.value, inner)))
                else:
                    results.append(self.expr(node.elt, inner))
                return None
            gen = node.generators[i]
            items = self.iterable(self.expr(gen.iter, inner), gen.iter)
            if isinstance(items, Unknown):
                if self.builds_model([node.elt if not isinstance(node, ast.DictComp) else node.value], inner):
                    self.fail(node.lineno, f"a comprehension over {ast.unparse(gen.iter)!r}, which quizgen cannot "
                                           f"read without running the code ({items.reason})")
                return items
            for item in items:
                self.step(node.lineno)
                self.assign(gen.target, item, inner, node.lineno)
                conditions = [self.truth(self.expr(c, inner), c) for c in gen.ifs]
                bad = next((c for c in conditions if isinstance(c, Unknown)), None)
                if bad is not None:
                    return bad
                if all(conditions):
                    stop = loop(i + 1)
                    if stop is not None:
                        return stop
            return None

        stop = loop(0)
        if stop is not None:
            return stop
        if isinstance(node, ast.DictComp):
            try:
                return dict(results)
            except TypeError:
                return Unknown(node.lineno, "a dict key that is not a constant")
        return self.made(results, node.lineno) if not isinstance(node, ast.SetComp) else _frozen(results, node.lineno)

    def call(self, node: ast.Call, scope: Scope) -> Any:
        self.step(node.lineno)
        func = self.expr(node.func, scope)
        args = self.arguments(node, scope)
        if isinstance(func, UserFunction):
            return self.call_function(func, node, args)
        if isinstance(func, BoundMethod) and isinstance(func.owner, (list, str, dict, set, frozenset)):
            return self.call_method(func, node, args)
        if isinstance(func, Builtin):
            return self.call_builtin(func.name, node, args)
        return self.call_value(func, node, args)

    def arguments(self, node: ast.Call, scope: Scope) -> CallArgs:
        positional: list[Any] = []
        starred = False
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                starred = True
                value = self.expr(arg.value, scope)
                if isinstance(value, (list, tuple)):
                    positional.extend(value)
                else:
                    positional.append(value if isinstance(value, Unknown) else Unknown(arg.lineno, "*args"))
            else:
                positional.append(self.expr(arg, scope))
        keywords: dict[str, Any] = {}
        double = False
        for kw in node.keywords:
            value = self.expr(kw.value, scope)
            if kw.arg is None:
                double = True
                if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                    keywords.update(value)
            else:
                keywords[kw.arg] = value
        return CallArgs(positional, keywords, starred, double)

    def call_builtin(self, name: str, node: ast.Call, args: CallArgs) -> Any:
        if name == "print":
            return None
        values = args.positional + list(args.keywords.values())
        bad = first_unknown(values)
        if bad is not None:
            return bad
        if name == "len":
            return len(values[0]) if len(values) == 1 and isinstance(values[0], (list, tuple, str, dict)) else \
                Unknown(node.lineno, "len() of a value that is not a list")
        if name == "isinstance" or args.double_starred:
            return Unknown(node.lineno, f"{name}(...) cannot be read without running the code")
        # Lists of tensors may be rearranged (zip, enumerate...); only constants are computed with.
        if name not in _STRUCTURAL_BUILTINS and not all(is_constant(v) for v in values):
            return Unknown(node.lineno, f"{name}(...) of values quizgen cannot read")
        try:
            if name == "range":
                if not all(isinstance(v, int) for v in values) or args.keywords:
                    return Unknown(node.lineno, "range() of values that are not integers")
                r = range(*values)
                return self.made(list(r), node.lineno) if len(r) <= MAX_SEQUENCE else \
                    Unknown(node.lineno, "range() too long to read")
            fn: Any = {"str": str, "int": int, "float": float, "bool": bool, "min": min, "max": max, "abs": abs,
                  "round": round, "sum": sum, "list": list, "tuple": tuple, "sorted": sorted, "dict": dict,
                  "set": set, "frozenset": frozenset,
                  "reversed": lambda x: list(reversed(x)), "enumerate": lambda *a, **k: list(enumerate(*a, **k)),
                  "zip": lambda *a: list(zip(*a))}[name]
            if name in ("int", "float") and values and isinstance(values[0], str) and len(values[0]) > 100:
                return Unknown(node.lineno, f"{name}() of a long string")
            result = fn(*args.positional, **args.keywords)
        except (TypeError, ValueError, ArithmeticError):
            return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be computed")
        if isinstance(result, (int, float)) and abs(result) > MAX_NUMBER:
            return Unknown(node.lineno, "number too large")
        if isinstance(result, (set, frozenset)):
            return _frozen(list(result), node.lineno)
        return self.made(result, node.lineno)

    def call_method(self, method: BoundMethod, node: ast.Call, args: CallArgs) -> Any:
        owner, name = method.owner, method.name
        values = args.positional + list(args.keywords.values())
        try:
            if isinstance(owner, list):
                if name in ("append", "extend") and len(args.positional) == 1:
                    more = [args.positional[0]] if name == "append" else args.positional[0]
                    if isinstance(more, Unknown) or len(owner) + len(more) > MAX_SEQUENCE or \
                            isinstance(self.made(more, node.lineno), Unknown):
                        # What the list holds now is unknown: say so wherever it is used.
                        owner[:] = [
                            more if isinstance(more, Unknown) else Unknown(node.lineno, "a list too long to read")
                        ]
                    else:
                        owner.extend(more)
                    return None
                if name == "insert" and len(args.positional) == 2 and isinstance(args.positional[0], int):
                    owner.insert(args.positional[0], args.positional[1])
                    return None
                if name == "pop":
                    return owner.pop(*args.positional)
                if name == "copy":
                    return list(owner)
            bad = first_unknown(values)
            if bad is not None:
                return bad
            if not all(is_constant(v) for v in values):
                return Unknown(node.lineno, f"{name}() of values quizgen cannot read")
            result = getattr(owner, name)(*args.positional, **args.keywords)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be computed")
        if type(result).__name__ in ("dict_keys", "dict_values", "dict_items"):
            result = list(result)
        if isinstance(result, (set, frozenset)):
            return _frozen(list(result), node.lineno)
        return self.made(result, node.lineno)

    def call_function(self, func: UserFunction, node: ast.Call, args: CallArgs) -> Any:
        if len(self.calls) >= MAX_CALL_DEPTH:
            self.fail(node.lineno, f"functions calling each other more than {MAX_CALL_DEPTH} deep are not read")
        spec = func.node.args
        scope = Scope(parent=func.scope)
        params = [a.arg for a in spec.posonlyargs + spec.args]
        defaults = dict(zip(params[len(params) - len(func.defaults):], func.defaults))
        positional = list(args.positional)
        for name in params:
            if positional:
                scope.vars[name] = positional.pop(0)
            elif name in args.keywords:
                scope.vars[name] = args.keywords[name]
            elif name in defaults:
                scope.vars[name] = defaults[name]
            else:
                scope.vars[name] = Unknown(node.lineno, f"argument {name!r} of {func.node.name}() is not given")
        if spec.vararg is not None:
            scope.vars[spec.vararg.arg] = tuple(positional)
        for a in spec.kwonlyargs:
            scope.vars[a.arg] = args.keywords.get(a.arg, func.kw_defaults.get(
                a.arg, Unknown(node.lineno, f"argument {a.arg!r} of {func.node.name}() is not given")))
        if spec.kwarg is not None:
            named = set(params) | {a.arg for a in spec.kwonlyargs}
            scope.vars[spec.kwarg.arg] = {k: v for k, v in args.keywords.items() if k not in named}
        self.calls.append((func.node.name, node.lineno))
        try:
            self.run(func.node.body, scope)
        except _Return as ret:
            return ret.value
        except (_Break, _Continue):
            pass
        finally:
            self.calls.pop()
        return None

    # ----------------------------------------------------------------- what a library adds
    def resolve_path(self, path: str) -> Any:
        """What an imported dotted name stands for."""
        return ModuleRef(path)

    def bound(self, name: str, value: Any) -> None:
        """Called when a value is assigned to a variable."""

    def symbolic(self, value: Any) -> bool:
        """Whether a value is a library object that plain Python operations cannot be applied to."""
        return False

    def check_operand(self, value: Any, node: ast.AST, operation: str) -> None:
        """Refuse ``operation`` (arithmetic, indexing) on a value only the library can compute."""

    def unpack_message(self, items: list[Any], wanted: int, starred: bool) -> str:
        return f"{len(items)} values cannot be unpacked into {wanted} names"

    def class_value(self, stmt: ast.ClassDef, scope: Scope) -> Any:
        """The value a class statement binds."""
        return OpaqueClass(stmt.name)

    def builds_model(self, body: list[ast.stmt] | list[ast.expr], scope: Scope) -> bool:
        """Whether skipping this code would lose part of a model."""
        return False

    def attribute_of(self, owner: Any, node: ast.Attribute) -> Any:
        return Unknown(node.lineno, f"{quote(ast.unparse(node))} cannot be read without running the code")

    def assign_attribute(self, owner: Any, attr: str, value: Any, line: int) -> None:
        """``owner.attr = value`` (a library object's attribute set: layer.trainable = False)."""

    def truth_of(self, value: Any) -> bool | None:
        """Whether a library object is true in an ``if`` (None: not known without running)."""
        return None

    def call_value(self, func: Any, node: ast.Call, args: CallArgs) -> Any:
        """Calling something that is not a helper function, a builtin or a list/str/dict method."""
        return Unknown(node.lineno, f"unsupported call {quote(ast.unparse(node.func))}(...)")


_MUTATING_METHODS = frozenset(
    ["append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add", "sort", "reverse"]
)


def _names_changed(body: list[ast.stmt]) -> set[str]:
    """Names a block assigns, and names of lists/dicts it changes in place (nested defs excluded)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in _MUTATING_METHODS and isinstance(node.func.value, ast.Name)):
            names.add(node.func.value.id)
        stack.extend(ast.iter_child_nodes(node))
    return names



def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _frozen(items: list[Any], line: int) -> Any:
    """A set of constants (sorted(set("..."))), as Python makes it; Unknown if an item is not one."""
    if not all(is_constant(x) and not isinstance(x, (list, dict)) for x in items):
        return Unknown(line, "a set of values quizgen cannot read")
    return frozenset(items)


def is_constant(v: Any) -> bool:
    if v is None or isinstance(v, (int, float, str, bool, bytes)):
        return True
    if isinstance(v, (list, tuple, set, frozenset)):
        return all(is_constant(x) for x in v)
    if isinstance(v, dict):
        return all(is_constant(k) and is_constant(x) for k, x in v.items())
    return False


def _digit_runs(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def short(value: Any) -> str:
    """A value named in a message: a constant as written, anything else by what it is to a reader
    of the code (never by a class name of quizgen's)."""
    if is_constant(value):
        return quote(repr(value))
    return _KINDS_OF_VALUES.get(type(value).__name__, "a value quizgen cannot read without running the code")


# What each of the reader's values is, in the words of the code (values.py, by class name).
_KINDS_OF_VALUES = {
    "Tensor": "a tensor", "Layer": "a layer", "SequentialModel": "a model", "FunctionalModel": "a model",
    "RefusedModel": "a model", "ModelMethod": "a method of a model or layer", "BoundMethod": "a method",
    "KerasName": "a Keras class or function", "ModuleRef": "a module or a name from one",
    "UserFunction": "a function", "Builtin": "a Python builtin", "InputLayerRef": "an input layer",
    "Partial": "a partial layer class", "SubclassDef": "a subclassed layer or model",
    "OpaqueClass": "a class", "Unknown": "a value quizgen cannot read without running the code",
    "Refused": "a value quizgen cannot read without running the code",
}


def quote(text: str, width: int = 60) -> str:
    """Source quoted in a message: on one line, cut to ``width``."""
    return clip(" ".join(text.split()), width)
