"""Collects the panels of every domain for the overview and the service hub (watchkeeper/panels.py).

A panel that fails shows its one-line error in place; the page around it still renders — the
overview is what an on-call engineer opens when things are already broken."""

from __future__ import annotations

import logging

from watchkeeper import domains
from watchkeeper.errors import WatchkeeperError
from watchkeeper.panels import Panel

log = logging.getLogger(__name__)
_RANK = {"bad": 3, "warn": 2, "info": 1, "ok": 0, "muted": 0}


def collect(where: str, session, *, actor, **kwargs) -> list[Panel]:
    out = []
    for key, provider in domains.panels(where):
        try:
            panel = provider(session, actor=actor, **kwargs)
        except WatchkeeperError as exc:
            panel = Panel(key=key, title=key.replace("_", " ").capitalize(), tone="warn", summary="could not load",
                          empty=str(exc))
        except Exception:  # noqa: BLE001 - one broken panel must not take the page down with it
            log.exception("panel %s failed", key)
            session.rollback()
            panel = Panel(key=key, title=key.replace("_", " ").capitalize(), tone="warn", summary="could not load",
                          empty="This panel failed to load; the server log has the details.")
        if panel is not None:
            out.append(panel)
    return out


def headline(panels: list[Panel]) -> tuple[str, str]:
    """(tone, words) for the whole page: the worst panel decides."""
    worst = max((p.tone for p in panels), key=lambda t: _RANK[t], default="ok")
    words = {"bad": "Something is broken", "warn": "Needs attention", "info": "All clear, maintenance in progress"}
    return worst, words.get(worst, "All clear")
