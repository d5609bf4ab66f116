"""On-call panels: who is on call now and until when (watchkeeper/panels.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.oncall import service as oncall
from watchkeeper.panels import Panel, PanelItem, unless_denied


@unless_denied
def overview(session: Session, *, actor: Actor) -> Panel | None:
    now = clock.utcnow()
    rows = oncall.on_call(session, actor=actor, at=now)
    if not rows:
        return None
    items = []
    for r in sorted(rows, key=lambda r: (r.person is not None, r.schedule)):
        until = f" until {r.until:%a %H:%M} UTC" if r.until else ""
        if r.person:
            items.append(PanelItem(f"{r.schedule}: {r.person}", None, f"on call{until}", "ok"))
        else:
            items.append(PanelItem(f"{r.schedule}: nobody", None, f"gap{until}", "bad"))
    handoffs = [r.until for r in rows if r.until]
    nxt = f" · next hand-off {min(handoffs):%a %H:%M} UTC" if handoffs else ""
    gaps = sum(1 for r in rows if not r.person)
    plural = "s" if len(rows) != 1 else ""
    summary = f"{gaps} of {len(rows)} schedule{plural} with nobody on call" if gaps else f"{len(rows)} schedule{plural} covered"
    return Panel.of("oncall", "On call now", items, summary=summary + nxt, empty="No schedule is defined.")
