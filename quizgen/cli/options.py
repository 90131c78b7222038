"""Helpers shared by the command modules: the lazily opened store, JSON output, progress."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def emit_json(obj: Any) -> None:
    """JSON, and only JSON, on stdout."""
    click.echo(json.dumps(obj, ensure_ascii=False))


def open_store(ctx: click.Context):  # type: ignore[no-untyped-def]
    """The opened store; opened on first use so --help never touches a database."""
    from ..store.db import open_store as _open

    obj = ctx.find_root().obj
    if "store" not in obj:
        obj["store"] = _open(obj["db"])
        ctx.call_on_close(obj["store"].dispose)
    return obj["store"]


class Bar:
    """A progress callback that draws click's bar on stderr."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
