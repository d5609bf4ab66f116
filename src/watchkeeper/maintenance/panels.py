"""Maintenance panels: what is in maintenance now and next (watchkeeper/panels.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowRead
from watchkeeper.panels import Panel, PanelItem, unless_denied

SOON = dt.timedelta(hours=24)


def _items(windows: list[WindowRead], now: dt.datetime) -> list[PanelItem]:
    out = []
    for w in windows:
        scope = w.service or ", ".join(w.matchers) or "everything"
        if w.active_now:
            until = f" until {w.current_end:%Y-%m-%d %H:%M} UTC" if w.current_end else ""
            out.append(PanelItem(f"{w.name} ({scope})", "/maintenance", f"in maintenance now{until}", "info", w.current_end))
        elif w.next_start and w.next_start - now <= SOON:
            out.append(PanelItem(f"{w.name} ({scope})", "/maintenance", f"starts {w.next_start:%Y-%m-%d %H:%M} UTC", "muted",
                                 w.next_start))
    return out


@unless_denied
def overview(session: Session, *, actor: Actor) -> Panel | None:
    now = clock.utcnow()
    items = _items(maintenance.list_windows(session, actor=actor), now)
    active = sum(1 for i in items if i.tone == "info")
    return Panel.of("maintenance", "Maintenance", items, summary=f"{active} active now", tone="info" if active else "ok",
                    empty="No maintenance now or in the next 24 hours.", more_href="/maintenance")


@unless_denied
def for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    now = clock.utcnow()
    items = _items(maintenance.list_windows(session, actor=actor, service=service), now)
    if not items:
        return None
    return Panel.of("maintenance", "Maintenance", items, summary="in maintenance now" if items[0].tone == "info" else "planned",
                    tone="info", empty="", more_href="/maintenance")
