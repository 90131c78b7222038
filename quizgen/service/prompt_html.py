"""Question prompts as HTML: prompts are Markdown (prose, numbered facts, fenced code),
rendered on the server by markdown-it-py (CommonMark) so the page needs no script.

Nothing a prompt holds can become markup: raw HTML is off (``<script>`` in a prompt is
shown as text), and links, images and autolinks are off too (a prompt has no business
sending a student elsewhere, and the page's CSP would block an image anyway), so every
tag in the output is one the renderer wrote for Markdown syntax.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    # breaks: a line break in a prompt is kept as written (numbered facts, "모델 A")
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(["link", "image", "autolink"])


def prompt_html(markdown: str) -> str:
    """``markdown`` as an HTML fragment: paragraphs, lists and ``<pre><code>`` blocks."""
    return str(_renderer().render(markdown))
