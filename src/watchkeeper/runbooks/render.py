"""Markdown to HTML that cannot run script: raw HTML is not passed through (markdown-it's
`html` option off, so `<script>` is shown as text), and a link or image is kept only when its
URL is http(s) or relative (watchkeeper.validation.link_problem): `javascript:`, `data:`,
`vbscript:` and obfuscated spellings become plain text. A relative link to another document of
the folder (`other.md#section`) points at that document's page."""

from __future__ import annotations

import posixpath
from urllib.parse import quote, urlsplit

from markdown_it import MarkdownIt

from watchkeeper.validation import link_problem

PAGE = "/runbooks/view?path="


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = lambda url: link_problem(url) is None  # type: ignore[method-assign]
    md.enable("table")
    return md


_MD = _markdown()


def _document_link(href: str, base: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.endswith(".md") or parts.path.startswith("/"):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(base), parts.path))
    if target.startswith(".."):
        return None
    return PAGE + quote(target) + (f"#{parts.fragment}" if parts.fragment else "")


def to_html(markdown: str, *, path: str | None = None) -> str:
    """Safe HTML for a document body; with `path` (the document's), links to sibling documents
    go to their pages."""
    env: dict = {}
    tokens = _MD.parse(markdown, env)
    if path is not None:
        for token in tokens:
            for child in token.children or ():
                if child.type == "link_open":
                    target = _document_link(str(child.attrGet("href") or ""), path)
                    if target is not None:
                        child.attrSet("href", target)
    return _MD.renderer.render(tokens, _MD.options, env)
