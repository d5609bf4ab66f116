"""Incident panels: open incidents, worst first, on the overview and a service's hub
(watchkeeper/panels.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import IncidentFilter, IncidentRead
from watchkeeper.panels import Panel, PanelItem, age, unless_denied

_TONE = {"SEV1": "bad", "SEV2": "bad", "SEV3": "warn", "SEV4": "info"}


def _items(rows: list[IncidentRead]) -> list[PanelItem]:
    now = clock.utcnow()
    out = []
    for i in sorted(rows, key=lambda r: (r.drill, r.severity, r.detected_at)):
        drill = " · drill" if i.drill else ""
        who = f" · {i.commander}" if i.commander else ""
        out.append(PanelItem(f"#{i.id} {i.title}", f"/incidents/{i.id}",
                             f"{i.severity} · {i.status.value} · {age(i.detected_at, now)}{who}{drill}",
                             "muted" if i.drill else _TONE.get(i.severity, "warn"), i.detected_at))
    return out


def _summary(rows: list[IncidentRead]) -> str:
    real = [r for r in rows if not r.drill]
    unacked = sum(1 for r in real if r.acknowledged_at is None)
    return f"{len(real)} open" + (f", {unacked} not acknowledged" if unacked else "") + \
        (f", {len(rows) - len(real)} drill(s)" if len(rows) > len(real) else "")


@unless_denied
def overview(session: Session, *, actor: Actor) -> Panel | None:
    rows = incidents.list_incidents(session, filter=IncidentFilter(), actor=actor)
    return Panel.of("incidents", "Open incidents", _items(rows), summary=_summary(rows), empty="No open incident.",
                    more_href="/incidents")


@unless_denied
def for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    rows = incidents.list_incidents(session, filter=IncidentFilter(service=service), actor=actor)
    return Panel.of("incidents", "Open incidents", _items(rows), summary=_summary(rows), empty="No open incident on this service.",
                    more_href=f"/incidents?service={service}")
