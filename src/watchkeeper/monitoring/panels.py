"""Monitoring's panels: monitors that are down, SLOs spending their budget (watchkeeper/panels.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.monitoring.probes import service as monitors
from watchkeeper.monitoring.probes.schemas import MonitorFilter, MonitorRead
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.panels import Panel, PanelItem, age, unless_denied

MAX_SLOS = 50  # the overview computes budgets for at most this many SLOs


def _monitor_items(rows: list[MonitorRead], *, with_service: bool) -> list[PanelItem]:
    now = clock.utcnow()
    tone = {"down": "bad", "pending": "info", "paused": "muted", "up": "ok"}
    order = {"down": 0, "pending": 1, "paused": 2, "up": 3}
    out = []
    for m in sorted(rows, key=lambda m: (order.get(m.status, 1), m.name)):
        since = f" for {age(m.status_since, now)}" if m.status_since else ""
        where = f" · {m.service}" if with_service and m.service else ""
        out.append(PanelItem(m.name, f"/monitors/{m.name}", f"{m.status}{since}{where}", tone.get(m.status, "muted"), m.status_since))
    return out


@unless_denied
def monitors_overview(session: Session, *, actor: Actor) -> Panel | None:
    down = monitors.list_monitors(session, actor=actor, filter=MonitorFilter(status="down"))
    return Panel.of("monitors", "Monitors down", _monitor_items(down, with_service=True),
                    summary=f"{len(down)} down", empty="Every monitor is up.", more_href="/monitors?status=down")


@unless_denied
def monitors_for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    rows = monitors.list_monitors(session, actor=actor, filter=MonitorFilter(service=service))
    down = sum(1 for m in rows if m.status == "down")
    return Panel.of("monitors", "Monitors", _monitor_items(rows, with_service=False),
                    summary=f"{down} of {len(rows)} down" if rows else "none", tone="bad" if down else ("ok" if rows else "warn"),
                    empty="No monitor watches this service.", more_href=f"/monitors?service={service}")


def _slo_items(session: Session, actor: Actor, service: str | None) -> tuple[list[PanelItem], int]:
    items = []
    rows = slos.list_slos(session, actor=actor, service=service)
    for slo in rows[:MAX_SLOS]:
        st = slos.status(session, name=slo.name, actor=actor)
        left = st.budget_remaining
        burning = [b for b in st.burn if b.firing]
        if left is None:
            tone, detail = "muted", "no data yet"
        else:
            tone = "bad" if left <= 0 or burning else ("warn" if left < 0.25 else "ok")
            detail = f"{left:.0%} of budget left" + (f" · burning {burning[0].burn_long or 0:.1f}x ({burning[0].severity})" if burning else "")
        items.append(PanelItem(slo.name, f"/slos/{slo.name}", detail, tone))
    return items, len(rows)


@unless_denied
def slos_overview(session: Session, *, actor: Actor) -> Panel | None:
    items, total = _slo_items(session, actor, None)
    if not total:
        return None
    spending = [i for i in items if i.tone in ("bad", "warn")]
    return Panel.of("slos", "SLOs spending budget", spending, summary=f"{len(spending)} of {total} at risk",
                    empty="Every SLO has budget to spare.", more_href="/slos")


@unless_denied
def slos_for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    items, total = _slo_items(session, actor, service)
    return Panel.of("slos", "SLOs", items, summary=f"{total} SLO" + ("s" if total != 1 else ""),
                    tone=None if items else "warn", empty="No SLO is defined for this service.", more_href=f"/slos?service={service}")
