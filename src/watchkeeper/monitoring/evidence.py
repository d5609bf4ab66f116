"""Readiness evidence from monitoring: "monitoring active" and "SLO defined and achievable".

Providers take a ServiceRead and return Evidence (watchkeeper/evidence.py); the batch forms
answer many services with a few queries. Registered in app.wire().
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper import labels as labels_
from watchkeeper.clock import from_ms
from watchkeeper.evidence import Evidence, Status
from watchkeeper.monitoring.metrics import language, store
from watchkeeper.monitoring.models import Check, Location, Monitor, Rollup, Sample, Slo
from watchkeeper.monitoring.probes.kinds import HeartbeatSpec, HttpSpec
from watchkeeper.monitoring.slos.evaluation import GOOD, TOTAL

STALE_INTERVALS = 3
LATENCY_WINDOW = dt.timedelta(hours=24)
LATENCY_PERCENTILE = 95
MIN_DATA = dt.timedelta(days=7)


def _monitors_by_service(session: Session, names: list[str]) -> dict[str, list[Monitor]]:
    out: dict[str, list[Monitor]] = defaultdict(list)
    for m in session.execute(select(Monitor).where(Monitor.service.in_(names)).order_by(Monitor.name)).scalars():
        out[m.service].append(m)
    return out


def _last_checks(session: Session, ids: list[int]) -> dict[int, dt.datetime]:
    if not ids:
        return {}
    rows = session.execute(
        select(Location.monitor_id, func.max(Location.last_check_at)).where(Location.monitor_id.in_(ids)).group_by(Location.monitor_id)
    ).all()
    return {mid: clock.ensure_aware(at) for mid, at in rows if at is not None}


def _active(service, monitors: list[Monitor], last: dict[int, dt.datetime], now: dt.datetime) -> Evidence:
    link = f"/monitors?service={service.name}"
    if not monitors:
        return Evidence(Status.FAIL, f"no monitors watch '{service.name}'; add one under `monitors:` with service: {service.name}",
                        link=link)
    live, down, stale = [], [], []
    newest = None
    for m in monitors:
        if not m.enabled:
            stale.append(f"{m.name} (paused)")
            continue
        seen = m.last_ping_at if m.kind == "heartbeat" else last.get(m.id)
        if m.kind == "heartbeat":
            spec = HeartbeatSpec.model_validate(m.spec)
            limit = (spec.period or dt.timedelta(days=1)) * STALE_INTERVALS + spec.grace
        else:
            limit = dt.timedelta(seconds=m.interval_seconds * STALE_INTERVALS)
        if seen is None or now - seen > limit:
            stale.append(f"{m.name} (no result {'yet' if seen is None else 'since ' + seen.strftime('%Y-%m-%d %H:%M')})")
            continue
        newest = max(newest, seen) if newest else seen
        (down if m.status == "down" else live).append(m.name)
    details = {"live": live, "down": down, "stale": stale}
    if not live and not down:
        return Evidence(Status.FAIL, f"monitors of '{service.name}' report nothing: {', '.join(stale)}; start a worker or resume them",
                        link=link, details=details)
    if down:
        return Evidence(Status.WARN, f"monitoring is live but {', '.join(down)} {'is' if len(down) == 1 else 'are'} down",
                        observed_at=newest, link=link, details=details)
    reason = f"{len(live)} monitor{'s' if len(live) != 1 else ''} live and up"
    if stale:
        reason += f"; not reporting: {', '.join(stale)}"
    return Evidence(Status.PASS, reason, observed_at=newest, link=link, details=details)


def monitoring_active(session: Session, service) -> Evidence:
    return monitoring_active_batch(session, [service])[service.name]


def monitoring_active_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    names = [s.name for s in services]
    by_service = _monitors_by_service(session, names)
    last = _last_checks(session, [m.id for ms in by_service.values() for m in ms])
    now = clock.utcnow()
    return {s.name: _active(s, by_service.get(s.name, []), last, now) for s in services}


def _percentile(values: list[float], pct: int) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * pct // 100) - 1)]


def _latency_limit_ms(m: Monitor) -> float | None:
    if m.kind != "http":
        return None
    limit = HttpSpec.model_validate(m.spec).max_latency
    return limit.total_seconds() * 1000 if limit is not None else None


def probe_latency(session: Session, service) -> Evidence:
    """The performance suite's "probe latency measured and within its threshold".

    PASS when every enabled probe of the service with a latency limit (`http.max_latency`) has
    its p95 over the last 24 h of successful checks within that limit; FAIL when one is over it
    or when nothing was measured; WARN when latency is measured but no probe sets a limit.
    """
    link = f"/monitors?service={service.name}"
    monitors = [m for m in _monitors_by_service(session, [service.name]).get(service.name, [])
                if m.enabled and m.kind != "heartbeat"]
    since = clock.utcnow() - LATENCY_WINDOW
    samples: dict[int, list[float]] = defaultdict(list)
    if monitors:
        rows = session.execute(
            select(Check.monitor_id, Check.latency_ms).where(
                Check.monitor_id.in_([m.id for m in monitors]), Check.checked_at >= since,
                Check.ok.is_(True), Check.latency_ms.is_not(None))
        )
        for mid, latency in rows:
            samples[mid].append(latency)
    measured = [m for m in monitors if samples.get(m.id)]
    if not measured:
        return Evidence(Status.FAIL, f"no probe latency measured for '{service.name}' in the last 24 h; "
                        "add an HTTP monitor with service: " + service.name + " and start a worker", link=link)
    details, over, unlimited = {}, [], []
    for m in measured:
        p95 = _percentile(samples[m.id], LATENCY_PERCENTILE)
        limit = _latency_limit_ms(m)
        details[m.name] = {"p95_ms": round(p95, 1), "limit_ms": limit, "checks": len(samples[m.id])}
        if limit is None:
            unlimited.append(f"{m.name} p95 {p95:.0f} ms")
        elif p95 > limit:
            over.append(f"{m.name} p95 {p95:.0f} ms over its {limit:.0f} ms limit")
    if over:
        return Evidence(Status.FAIL, "probe latency over its limit: " + "; ".join(over), link=link, details=details)
    limited = [m for m in measured if _latency_limit_ms(m) is not None]
    if not limited:
        return Evidence(Status.WARN, f"latency is measured ({', '.join(unlimited)}) but no probe sets a limit; "
                        "set http.max_latency on a monitor of " + service.name, link=link, details=details)
    reason = ", ".join(f"{m.name} p95 {details[m.name]['p95_ms']:.0f} ms within {details[m.name]['limit_ms']:.0f} ms"
                       for m in limited)
    return Evidence(Status.PASS, f"probe latency within its limit (24 h): {reason}", link=link, details=details)


def _sum(session: Session, name: str, matcher: language.Matcher, window: dt.timedelta, agg: str = "sum") -> float:
    q = language.Query(agg, language.Selector(name, (matcher,)), window.total_seconds())
    return store.evaluate(session, q).get((), 0.0)


def slo_achievable(session: Session, service) -> Evidence:
    """PASS when the service has an SLO target and the measured availability over its window
    meets it with at least a week of data; WARN with less data; FAIL when missing or missed."""
    slos = list(session.execute(select(Slo).where(Slo.service == service.name).order_by(Slo.name)).scalars())
    target = service.targets.slo or service.targets.sla
    window = service.targets.slo_window or dt.timedelta(days=30)
    link = f"/slos?service={service.name}"
    if slos:
        worst = None
        for slo in slos:
            w = dt.timedelta(seconds=slo.window_seconds)
            good = _sum(session, GOOD, language.Matcher("slo", "=", slo.name), w)
            total = _sum(session, TOTAL, language.Matcher("slo", "=", slo.name), w)
            if total <= 0:
                return Evidence(Status.FAIL, f"SLO '{slo.name}' has no measured events yet; check its source", link=link)
            attained = 100.0 * good / total
            margin = attained - slo.target
            if worst is None or margin < worst[0]:
                worst = (margin, slo, attained)
        margin, slo, attained = worst
        covered = _coverage(session, GOOD, language.Matcher("slo", "=", slo.name))
        return _verdict(f"SLO '{slo.name}'", attained, slo.target, covered, link, {"slo": slo.name})
    if target is None:
        return Evidence(Status.FAIL, f"'{service.name}' declares no SLO or SLA target; set targets.slo and add an SLO",
                        link=f"/services/{service.name}")
    monitors = list(session.execute(
        select(Monitor.name).where(Monitor.service == service.name, Monitor.kind != "heartbeat")
    ).scalars())
    if not monitors:
        return Evidence(Status.FAIL, f"'{service.name}' targets {target:g}% but nothing measures it; add a monitor or an SLO",
                        link=link)
    matcher = language.Matcher("monitor", "=~", "|".join(labels_.escape_regex(m) for m in monitors))
    good = _sum(session, "probe_success", matcher, window)
    total = _sum(session, "probe_success", matcher, window, agg="count")
    if total <= 0:
        return Evidence(Status.FAIL, f"monitors of '{service.name}' have no results yet", link=link)
    covered = _coverage(session, "probe_success", matcher)
    return _verdict(f"probe availability of {', '.join(monitors)}", 100.0 * good / total, target, covered, link,
                    {"monitors": monitors})


def _coverage(session: Session, name: str, matcher: language.Matcher) -> dt.timedelta:
    ids = [sid for sid, _ in store.find_series(session, language.Selector(name, (matcher,)))]
    if not ids:
        return dt.timedelta(0)
    first = session.execute(select(func.min(Sample.ts_ms)).where(Sample.series_id.in_(ids))).scalar()
    first_r = session.execute(select(func.min(Rollup.bucket_ms)).where(Rollup.series_id.in_(ids))).scalar()
    candidates = [x for x in (first, first_r) if x is not None]
    if not candidates:
        return dt.timedelta(0)
    return clock.utcnow() - from_ms(min(candidates))


def _verdict(what: str, attained: float, target: float, covered: dt.timedelta, link: str, details: dict) -> Evidence:
    details = {**details, "attained_percent": round(attained, 4), "target_percent": target, "days_of_data": round(covered.total_seconds() / 86400, 2)}
    now = clock.utcnow()
    if attained < target:
        return Evidence(Status.FAIL, f"{what} is {attained:.3f}%, below the {target:g}% target; fix reliability or revisit the target",
                        observed_at=now, link=link, details=details)
    if covered < MIN_DATA:
        return Evidence(Status.WARN, f"{what} is {attained:.3f}% (target {target:g}%) but only {covered.days} day(s) of data; "
                        f"a week is needed to call it achievable", observed_at=now, link=link, details=details)
    return Evidence(Status.PASS, f"{what} is {attained:.3f}% over the window, meeting the {target:g}% target",
                    observed_at=now, link=link, details=details)


def slo_achievable_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return {s.name: slo_achievable(session, s) for s in services}
