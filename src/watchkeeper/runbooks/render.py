"""Markdown to HTML that cannot run script: raw HTML is not passed through (markdown-it's
`html` option off, so `<script>` is shown as text), and a link or image is kept only when its
URL is http(s) or relative (watchkeeper.validation.link_problem): `javascript:`, `data:`,
`vbscript:` and obfuscated spellings become plain text."""

from __future__ import annotations

from markdown_it import MarkdownIt

from watchkeeper.validation import link_problem


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = lambda url: link_problem(url) is None  # type: ignore[method-assign]
    md.enable("table")
    return md


_MD = _markdown()


def to_html(markdown: str) -> str:
    """Safe HTML for a document body."""
    return _MD.render(markdown)
