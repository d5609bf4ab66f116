"""Safe Markdown: the text is HTML-escaped first, then a small subset is turned into tags
(paragraphs, line breaks, **bold**, *em*, `code`, fenced code, - lists, [links](http…)). Links
are http(s) or relative only, so stored text can never inject markup or script."""

from __future__ import annotations

import html
import re

_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(((?:https?://|/)[^\s)\"'<>]{0,500})\)")
_CODE = re.compile(r"`([^`\n]{1,500})`")
_BOLD = re.compile(r"\*\*([^*\n]{1,500})\*\*")
_BULLET = re.compile(r"^\s*[-*] ")
_EM = re.compile(r"(?<![*\w])\*([^*\n]{1,500})\*(?![*\w])")


def _inline(text: str) -> str:
    parts = _CODE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{part}</code>")
            continue
        part = _LINK.sub(lambda m: f'<a href="{m.group(2)}" rel="nofollow noopener">{m.group(1)}</a>', part)
        part = _BOLD.sub(r"<strong>\1</strong>", part)
        part = _EM.sub(r"<em>\1</em>", part)
        out.append(part)
    return "".join(out)


def render(text: str | None) -> str:
    """HTML for `text` (Markdown subset). Everything the user wrote is escaped."""
    if not text:
        return ""
    escaped = html.escape(text, quote=True).replace("\r\n", "\n")
    blocks: list[str] = []
    for i, chunk in enumerate(escaped.split("```")):
        if i % 2:
            blocks.append(f"<pre><code>{chunk.strip(chr(10))}</code></pre>")
            continue
        for para in re.split(r"\n\s*\n", chunk):
            lines = [ln for ln in para.strip("\n").split("\n") if ln.strip()]
            if not lines:
                continue
            if all(_BULLET.match(ln) for ln in lines):
                items = "".join("<li>" + _inline(_BULLET.sub("", ln)) + "</li>" for ln in lines)
                blocks.append(f"<ul>{items}</ul>")
            else:
                blocks.append("<p>" + "<br>".join(_inline(ln) for ln in lines) + "</p>")
    return "\n".join(blocks)


def plain(text: str | None, limit: int = 300) -> str:
    """One line of `text` for a summary column (no markup)."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
