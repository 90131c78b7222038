"""Exports: one module per format, each formatting plain records (questions.records,
exports.gradebook) without touching the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import InputFileError
from .gift import gift  # noqa: E402 - after the imports the formats share
from .json_export import json_export  # noqa: E402
from .markdown import markdown_worksheet  # noqa: E402
from .moodle import moodle_xml  # noqa: E402

# Quiz export formats by the name ``export --format`` takes.
FORMATS: dict[str, Callable[..., str]] = {  # (info, variants[, categories=...]) -> text
    "markdown": markdown_worksheet, "json": json_export, "moodle-xml": moodle_xml, "gift": gift}


def export_files(output: str, text: str, key_text: str | None = None) -> list[tuple[str, str]]:
    """(path, text) of an export written to ``output``, and of its Markdown key beside it."""
    base = Path(output)
    if not base.name:
        raise InputFileError(f"cannot write {output or '(empty path)'}: it is a folder, not a file name")
    files = [(output, text)]
    if key_text is not None:
        stem = base.name[:-3] if base.name.endswith(".md") else base.name
        files.append((str(base.with_name(f"{stem}.key.md")), key_text))
    return files
