"""The monthly SLA report: availability attainment per service against its SLA (or SLO)."""

from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper import labels as labels_
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import InvalidInput
from watchkeeper.monitoring.metrics import language, store
from watchkeeper.monitoring.models import Monitor, Slo
from watchkeeper.monitoring.slos.evaluation import GOOD, TOTAL, events_selector
from watchkeeper.monitoring.slos.schemas import SlaReport, SlaRow


def _month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = dt.datetime(year, mon, 1, tzinfo=dt.timezone.utc)
    except (ValueError, TypeError):
        raise InvalidInput(f"month {month!r} is not YYYY-MM; write e.g. 2026-02", field="month") from None
    days = calendar.monthrange(year, mon)[1]
    return start, start + dt.timedelta(days=days)


def sla_report(session: Session, *, month: str, actor: Actor, retention: store.Retention | None = None) -> SlaReport:
    """Availability attainment per service for one calendar month, against its SLA (or SLO).

    Source per service: its availability SLOs' good/total events when it has any, else the
    probe results of its monitors. Services with neither are listed with no attainment.
    """
    require(actor, "slo.read")
    start, end = _month_bounds(month)
    end_at = min(end, clock.utcnow())
    if end_at <= start:
        raise InvalidInput(f"month {month} has not started yet", field="month")
    retention = retention or store.Retention()
    window = (end_at - start).total_seconds()
    end_at -= dt.timedelta(milliseconds=1)  # a window's end is inclusive: the next month's first minute is not this one's
    rows = []
    for svc in catalog.list_services(session, actor=actor):
        slo_names = list(session.execute(
            select(Slo.name).where(Slo.service == svc.name, Slo.kind == "availability").order_by(Slo.name)
        ).scalars())
        good = total = 0.0
        source = "none"
        if slo_names:
            source = "slo:" + ",".join(slo_names)
            for name in slo_names:
                for metric, acc in ((GOOD, "g"), (TOTAL, "t")):
                    q = language.Query("sum", events_selector(metric, name), window)
                    v = store.evaluate(session, q, at=end_at, retention=retention).get((), 0.0)
                    if acc == "g":
                        good += v
                    else:
                        total += v
        else:
            monitors = list(session.execute(
                select(Monitor.name).where(Monitor.service == svc.name, Monitor.kind != "heartbeat").order_by(Monitor.name)
            ).scalars())
            if monitors:
                source = "monitors:" + ",".join(monitors)
                pattern = "|".join(labels_.escape_regex(m) for m in monitors)
                sel = language.Selector("probe_success", (language.Matcher("monitor", "=~", pattern),))
                good = store.evaluate(session, language.Query("sum", sel, window), at=end_at, retention=retention).get((), 0.0)
                total = store.evaluate(session, language.Query("count", sel, window), at=end_at, retention=retention).get((), 0.0)
        target = svc.targets.sla if svc.targets.sla is not None else svc.targets.slo
        attainment = round(100.0 * good / total, 4) if total else None
        rows.append(SlaRow(
            service=svc.name, month=month, sla_target=svc.targets.sla, slo_target=svc.targets.slo,
            attainment_percent=attainment, met=(attainment >= target) if attainment is not None and target is not None else None,
            source=source, good=good, total=total,
        ))
    return SlaReport(month=month, rows=rows)
