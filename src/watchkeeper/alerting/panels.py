"""The alert pipeline's panels: what is firing, worst first (watchkeeper/panels.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.schemas import AlertFilter, AlertRead
from watchkeeper.auth.service import Actor
from watchkeeper.panels import Panel, PanelItem, age, unless_denied

_RANK = {"critical": 0, "page": 0, "high": 1, "error": 1, "warning": 2, "medium": 2, "low": 3, "info": 4}


def _order(alert: AlertRead) -> tuple:
    suppressed = alert.state.value != "active"
    return (suppressed, _RANK.get((alert.severity or "").lower(), 3), alert.starts_at)


def _items(alerts: list[AlertRead], *, with_service: bool) -> list[PanelItem]:
    now = clock.utcnow()
    out = []
    for a in sorted(alerts, key=_order):
        active = a.state.value == "active"
        sev = (a.severity or "none").lower()
        tone = "muted" if not active else ("bad" if _RANK.get(sev, 3) <= 1 else "warn")
        where = f" on {a.service}" if with_service and a.service else ""
        state = "" if active else f" · {a.state.value}"
        ack = f" · acked by {a.acked_by}" if a.acked_by else ""
        out.append(PanelItem(f"{a.alertname}{where}", f"/alerts/{a.id}", f"{sev} · {age(a.starts_at, now)}{state}{ack}",
                             tone, a.starts_at))
    return out


def _summary(alerts: list[AlertRead]) -> str:
    active = [a for a in alerts if a.state.value == "active"]
    critical = sum(1 for a in active if _RANK.get((a.severity or "").lower(), 3) == 0)
    quiet = len(alerts) - len(active)
    parts = [f"{len(active)} firing"] + ([f"{critical} critical"] if critical else []) + ([f"{quiet} suppressed"] if quiet else [])
    return ", ".join(parts)


@unless_denied
def overview(session: Session, *, actor: Actor) -> Panel | None:
    alerts = alerting.list_alerts(session, filter=AlertFilter(status="firing", limit=500), actor=actor)
    return Panel.of("alerts", "Firing alerts", _items(alerts, with_service=True), summary=_summary(alerts),
                    empty="No alert is firing.", more_href="/alerts?status=firing")


@unless_denied
def for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    alerts = alerting.list_alerts(session, filter=AlertFilter(status="firing", service=service, limit=200), actor=actor)
    return Panel.of("alerts", "Firing alerts", _items(alerts, with_service=False), summary=_summary(alerts),
                    empty="No alert is firing on this service.", more_href=f"/alerts?status=firing&service={service}")
