"""Panels: what each domain shows on the overview (`/`) and on a service's hub page.

A panel is plain data — a title, a tone, a one-line summary and a short list of items, each
a label with an optional link — so a domain can offer one without knowing about templates,
and the web layer renders every panel the same way. A domain declares its panels in its
descriptor (`Domain.panels`, see watchkeeper/domain.py):

- overview provider: `(session, *, actor) -> Panel | None`
- service provider: `(session, *, service: str, actor) -> Panel | None`

`None` means "nothing of mine to show here" (the actor may not read it, or the domain has
nothing configured). Providers read through their domain's own service functions, so every
panel is filtered by the actor's scope like the rest of the product.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

Tone = Literal["ok", "warn", "bad", "muted", "info"]
MAX_ITEMS = 8


@dataclasses.dataclass(frozen=True)
class PanelItem:
    label: str
    href: str | None = None
    detail: str = ""
    tone: Tone = "muted"
    at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Panel:
    key: str
    title: str
    tone: Tone
    summary: str
    items: tuple[PanelItem, ...] = ()
    empty: str = "Nothing to show."
    more_href: str | None = None
    total: int | None = None  # how many items there are when more than `items` shows

    @classmethod
    def of(cls, key: str, title: str, items: list[PanelItem], *, summary: str, empty: str,
           more_href: str | None = None, tone: Tone | None = None) -> Panel:
        """A panel of the first MAX_ITEMS items; its tone is the worst of its items' unless given."""
        rank = {"bad": 3, "warn": 2, "info": 1, "ok": 0, "muted": 0}
        worst: Tone = max((i.tone for i in items), key=lambda t: rank[t], default="ok")
        return cls(key=key, title=title, tone=tone or (worst if items else "ok"), summary=summary,
                   items=tuple(items[:MAX_ITEMS]), empty=empty, more_href=more_href, total=len(items))


def age(since: dt.datetime | None, now: dt.datetime) -> str:
    """`12m`, `3h`, `2d`: how long ago, in the largest whole unit."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def unless_denied(provider):
    """A provider whose reads the actor may not make shows nothing rather than an error."""
    import functools

    from watchkeeper.errors import PermissionDenied

    @functools.wraps(provider)
    def wrapper(*args, **kwargs):
        try:
            return provider(*args, **kwargs)
        except PermissionDenied:
            return None

    wrapper.panel_provider = True  # tests/auth/test_service_permissions.py judges these by what they show
    return wrapper
