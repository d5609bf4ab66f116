"""Readiness panels: services not ready for the stage they are at, waivers about to expire
(watchkeeper/panels.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.panels import Panel, PanelItem, unless_denied
from watchkeeper.readiness import evaluation, waivers

EXPIRING = dt.timedelta(days=7)


@unless_denied
def overview(session: Session, *, actor: Actor) -> Panel | None:
    require(actor, "readiness.read")
    services = catalog.list_services(session, actor=actor)
    now = clock.utcnow()
    items = []
    for report in evaluation.evaluate_services(session, services):
        if not report.ready:
            blocking = ", ".join(i.check for i in report.blocking[:3])
            more = f" +{len(report.blocking) - 3}" if len(report.blocking) > 3 else ""
            items.append(PanelItem(report.service, f"/services/{report.service}/readiness",
                                   f"{report.stage.value}: {report.word} · {blocking}{more}",
                                   "bad" if report.stage.rank >= 2 else "warn"))
    for w in waivers.list_waivers(session, actor=actor, active_only=True):
        if w.expires_at - now <= EXPIRING:
            days = max(0, (w.expires_at - now).days)
            items.append(PanelItem(f"{w.service}: waiver on {w.check}", f"/services/{w.service}/readiness",
                                   f"expires in {days}d" if days else "expires today", "warn", w.expires_at))
    not_ready = sum(1 for i in items if "waiver" not in i.label)
    return Panel.of("readiness", "Not ready for their stage", items,
                    summary=f"{not_ready} of {len(services)} services not ready", empty="Every service meets its stage.",
                    more_href="/readiness")


@unless_denied
def for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    report = evaluation.get_report(session, service=service, actor=actor)
    now = clock.utcnow()
    items = [PanelItem(i.title, f"/services/{service}/readiness", i.reason, "bad" if i.blocking else "warn")
             for i in sorted(report.items, key=lambda i: not i.blocking) if i.blocking or i.word == "warn"]
    for w in waivers.list_waivers(session, actor=actor, service=service, active_only=True):
        days = max(0, (w.expires_at - now).days)
        items.append(PanelItem(f"Waiver: {w.check}", f"/services/{service}/readiness",
                               f"expires in {days}d · {w.reason}", "warn" if w.expires_at - now <= EXPIRING else "muted",
                               w.expires_at))
    counts = ", ".join(f"{n} {word.lower()}" for word, n in report.counts.items() if n)
    return Panel.of("readiness", f"Readiness for {report.stage.value}", items, summary=f"{report.word} · {counts}",
                    tone="ok" if report.ready else None, empty="Nothing blocks this stage.",
                    more_href=f"/services/{service}/readiness")
