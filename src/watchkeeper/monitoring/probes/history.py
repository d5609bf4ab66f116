"""A monitor's history: its check results, uptime over 24 h / 7 d / 30 d, and the batch reads
the monitors page needs (sparklines, 24-hour uptime, counts by status)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor, require
from watchkeeper.monitoring.metrics import language, store
from watchkeeper.monitoring.metrics.schemas import SeriesRead
from watchkeeper.monitoring.models import Check, Monitor
from watchkeeper.signals.models import Signal
from watchkeeper.monitoring.probes import _rows
from watchkeeper.monitoring.probes.schemas import CheckRead, UptimeRead
from watchkeeper.monitoring.scope import require_in_scope, scope_of


def readable(session: Session, actor: Actor, name: str) -> Monitor:
    """The monitor row, if the actor may read it (its service's scope). Raises MonitorNotFound,
    PermissionDenied."""
    m = _rows.get(session, name)
    require_in_scope(session, actor, "monitor.read", m.service)
    return m


def _visible_names(session: Session, actor: Actor, names: list[str]) -> list[str]:
    """The subset of `names` whose monitors the actor may read (lists filter, never refuse)."""
    require(actor, "monitor.read")
    if actor.superuser:
        return names
    rows = session.execute(select(Monitor.name, Monitor.service).where(Monitor.name.in_(names))).all()
    scopes: dict[str | None, tuple[str | None, str | None]] = {}
    out = []
    for name, service in rows:
        if service not in scopes:
            scopes[service] = scope_of(session, service)
        team, svc = scopes[service]
        if actor.can("monitor.read", team=team or "", service=svc or ""):
            out.append(name)
    return out


def list_checks(session: Session, *, name: str, actor: Actor, limit: int = 100, failures_only: bool = False,
                since: dt.datetime | None = None) -> list[CheckRead]:
    m = readable(session, actor, name)
    query = select(Check).where(Check.monitor_id == m.id)
    if failures_only:
        query = query.where(Check.ok.is_(False))
    if since is not None:
        query = query.where(Check.checked_at >= since)
    rows = session.execute(query.order_by(Check.checked_at.desc(), Check.id.desc()).limit(limit)).scalars()
    return [CheckRead.model_validate(c) for c in rows]


UPTIME_WINDOWS = (("24h", dt.timedelta(hours=24)), ("7d", dt.timedelta(days=7)), ("30d", dt.timedelta(days=30)))


def uptime(session: Session, *, name: str, actor: Actor, retention: store.Retention | None = None,
           now: dt.datetime | None = None) -> list[UptimeRead]:
    """Uptime over 24 h, 7 d and 30 d. Probes: share of successful checks (from the metrics
    store, so 30 days reads roll-ups). Heartbeats: share of time not down."""
    m = readable(session, actor, name)
    now = now or clock.utcnow()
    out = []
    for label, window in UPTIME_WINDOWS:
        if m.kind == "heartbeat":
            down = _downtime(session, m, now - window, now)
            covered = min(window, now - m.created_at) if m.created_at else window
            pct = 100.0 * (1 - down / covered) if covered.total_seconds() > 0 else None
            out.append(UptimeRead(window=label, checks=0, up_checks=0, uptime_percent=pct, avg_latency_ms=None))
            continue
        sel = language.Selector("probe_success", (language.Matcher("monitor", "=", m.name),))
        q_count = language.Query("count", sel, window.total_seconds())
        q_sum = language.Query("sum", sel, window.total_seconds())
        lat = language.Query("avg", language.Selector("probe_duration_seconds", sel.matchers), window.total_seconds())
        total = store.evaluate(session, q_count, at=now, retention=retention).get((), 0.0)
        good = store.evaluate(session, q_sum, at=now, retention=retention).get((), 0.0)
        avg = store.evaluate(session, lat, at=now, retention=retention).get(())
        out.append(UptimeRead(
            window=label, checks=int(total), up_checks=int(good),
            uptime_percent=round(100.0 * good / total, 4) if total else None,
            avg_latency_ms=round(avg * 1000, 2) if avg is not None else None,
        ))
    return out


def latency(session: Session, *, name: str, actor: Actor, span: dt.timedelta,
            retention: store.Retention | None = None) -> list[SeriesRead]:
    """A monitor's latency per location (seconds) over the last `span`, for charts."""
    readable(session, actor, name)
    end = clock.utcnow()
    selector = language.Selector("probe_duration_seconds", (language.Matcher("monitor", "=", name),))
    return store.read_series(session, selector, start=end - span, end=end, retention=retention)


def _downtime(session: Session, m: Monitor, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    rows = session.execute(
        select(Signal.at, Signal.firing, Signal.starts_at)
        .where(Signal.source == "heartbeat", Signal.name == m.name)
        .order_by(Signal.at, Signal.id)
    ).all()
    total = dt.timedelta(0)
    down_since: dt.datetime | None = None
    for at, firing, starts_at in rows:
        if firing:
            down_since = starts_at
        elif down_since is not None:
            lo, hi = max(down_since, start), min(at, end)
            if hi > lo:
                total += hi - lo
            down_since = None
    if down_since is not None:
        lo = max(down_since, start)
        if end > lo:
            total += end - lo
    return total

def counts_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Monitor.status, func.count()).group_by(Monitor.status)).all())


def recent_results(session: Session, *, names: list[str], actor: Actor,
                   points: int = 30) -> dict[str, list[tuple[bool, float | None]]]:
    """The last `points` results of each monitor the actor may read, oldest first (for
    sparklines). One query."""
    names = _visible_names(session, actor, names)
    if not names:
        return {}
    ids = dict(session.execute(select(Monitor.id, Monitor.name).where(Monitor.name.in_(names))).all())
    if not ids:
        return {}
    rank = func.row_number().over(partition_by=Check.monitor_id, order_by=(Check.checked_at.desc(), Check.id.desc())).label("rank")
    inner = select(Check.monitor_id, Check.checked_at, Check.ok, Check.latency_ms, rank).where(Check.monitor_id.in_(list(ids))).subquery()
    rows = session.execute(
        select(inner.c.monitor_id, inner.c.ok, inner.c.latency_ms).where(inner.c.rank <= points)
        .order_by(inner.c.monitor_id, inner.c.checked_at)
    ).all()
    out: dict[str, list[tuple[bool, float | None]]] = defaultdict(list)
    for mid, ok, latency in rows:
        out[ids[mid]].append((bool(ok), latency))
    return dict(out)


def uptime_since(session: Session, *, names: list[str], actor: Actor, since: dt.datetime) -> dict[str, float | None]:
    """Share of successful checks per monitor the actor may read since `since` (percent), from
    stored results. One query."""
    names = _visible_names(session, actor, names)
    if not names:
        return {}
    rows = session.execute(
        select(Monitor.name, func.count(Check.id), func.sum(case((Check.ok.is_(True), 1), else_=0)))
        .join(Check, Check.monitor_id == Monitor.id)
        .where(Monitor.name.in_(names), Check.checked_at >= since)
        .group_by(Monitor.name)
    ).all()
    return {name: (100.0 * (up or 0) / total if total else None) for name, total, up in rows}
