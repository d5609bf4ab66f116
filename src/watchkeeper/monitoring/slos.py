"""SLOs: CRUD, per-minute good/total accounting, error budget, burn-rate alerts, SLA reports.

Every minute the worker turns each SLO's source (probe results, metric series, latency samples
or PromQL) into two series in the metrics store, `slo_good_events{slo=…}` and
`slo_total_events{slo=…}`, one sample per minute. Burn rates over 5 m … 3 d and the budget over
the whole window are then sums of those series, read from raw samples or roll-ups — cheap for
any window, identical for every kind of source.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from watchkeeper import clock, durations
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.monitoring import _burn, _rules, signals, store
from watchkeeper.monitoring._schedule import from_ms, to_ms
from watchkeeper.monitoring.models import Monitor, Sample, Slo, SloAlert
from watchkeeper.monitoring.schemas import BurnRead, SlaReport, SlaRow, SloCreate, SloRead, SloStatus, SloUpdate
from watchkeeper.monitoring.service import scope_of

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
GOOD, TOTAL = "slo_good_events", "slo_total_events"
MAX_CATCH_UP = dt.timedelta(days=8)  # one grouped query per source covers this much


class SloNotFound(NotFound):
    code = "slo.not_found"


def _get(session: Session, name: str) -> Slo:
    slo = session.execute(select(Slo).where(Slo.name == name)).scalar_one_or_none()
    if slo is None:
        raise SloNotFound(f"no SLO named '{name}'; `watchkeeper monitor slos` lists them")
    return slo


def _read(slo: Slo) -> SloRead:
    src = dict(slo.source or {})
    return SloRead.model_validate(dict(
        name=slo.name, service=slo.service, kind=slo.kind, target=slo.target,
        window=dt.timedelta(seconds=slo.window_seconds), description=slo.description, alerting=slo.alerting,
        managed_by=slo.managed_by, last_error=slo.last_error, **src,
    ))


def _snapshot(read: SloRead) -> dict:
    return read.model_dump(mode="json", exclude={"last_error"}, exclude_none=True)


def _require(session: Session, actor: Actor, permission: str, service: str | None) -> None:
    team, svc = scope_of(session, service)
    require(actor, permission, team=team, service=svc)


def get_slo(session: Session, *, name: str) -> SloRead:
    return _read(_get(session, name))


def list_slos(session: Session, *, actor: Actor, service: str | None = None) -> list[SloRead]:
    require(actor, "slo.read")
    query = select(Slo).order_by(Slo.name)
    if service:
        query = query.where(Slo.service == service)
    return [_read(s) for s in session.execute(query).scalars()]


def _check_monitor(session: Session, data: SloCreate) -> None:
    if data.monitor and not session.execute(select(Monitor.id).where(Monitor.name == data.monitor)).first():
        raise InvalidInput(f"SLO '{data.name}' reads monitor '{data.monitor}', which does not exist; create the monitor first",
                           field="monitor")


def create_slo(session: Session, *, data: SloCreate, actor: Actor, managed_by: str = "runtime") -> SloRead:
    """Create an SLO. Raises Conflict, InvalidInput. Audited. Does not commit."""
    _require(session, actor, "slo.create", data.service)
    if session.execute(select(Slo.id).where(Slo.name == data.name)).first():
        raise Conflict(f"SLO '{data.name}' already exists; update it instead", code="slo.exists", field="name")
    _check_monitor(session, data)
    slo = Slo(name=data.name, service=data.service, kind=data.kind, target=data.target,
              window_seconds=int(data.window.total_seconds()), source=data.source_dict(), alerting=data.alerting,
              description=data.description, managed_by=managed_by)
    session.add(slo)
    session.flush()
    read = _read(slo)
    audit.record(session, actor=actor, action="slo.create", target=f"slo:{slo.name}", after=_snapshot(read))
    return read


def update_slo(session: Session, *, name: str, data: SloUpdate, actor: Actor) -> SloRead:
    """Change target, window, description, alerting or service. Audited. Does not commit."""
    slo = _get(session, name)
    _require(session, actor, "slo.update", slo.service)
    before = _snapshot(_read(slo))
    fields = data.model_fields_set
    if "service" in fields and data.service != slo.service:
        _require(session, actor, "slo.update", data.service)
        slo.service = data.service
    if data.target is not None:
        slo.target = data.target
    if data.window is not None:
        if data.window < dt.timedelta(hours=1):
            raise InvalidInput("window must be at least 1h (30d is usual)", field="window")
        slo.window_seconds = int(data.window.total_seconds())
    if "description" in fields:
        slo.description = data.description
    if data.alerting is not None:
        slo.alerting = data.alerting
        if not data.alerting:
            _resolve_all(session, slo)
    session.flush()
    after = _read(slo)
    b, a = audit.diff(before, _snapshot(after))
    if a or b:
        audit.record(session, actor=actor, action="slo.update", target=f"slo:{name}", before=b, after=a)
    return after


def replace_slo(session: Session, *, data: SloCreate, actor: Actor) -> SloRead:
    """Config apply: same name, new definition. The source may change; history is kept."""
    slo = _get(session, data.name)
    _require(session, actor, "slo.update", slo.service)
    _check_monitor(session, data)
    before = _snapshot(_read(slo))
    if data.source_dict() != slo.source or data.kind != slo.kind:
        slo.evaluated_until_ms = None  # a new source: recount from what the store still holds
    slo.service, slo.kind, slo.target = data.service, data.kind, data.target
    slo.window_seconds, slo.source, slo.description = int(data.window.total_seconds()), data.source_dict(), data.description
    if slo.alerting and not data.alerting:
        _resolve_all(session, slo)
    slo.alerting = data.alerting
    session.flush()
    after = _read(slo)
    b, a = audit.diff(before, _snapshot(after))
    if a or b:
        audit.record(session, actor=actor, action="slo.update", target=f"slo:{slo.name}", before=b, after=a)
    return after


def delete_slo(session: Session, *, name: str, actor: Actor) -> None:
    slo = _get(session, name)
    _require(session, actor, "slo.delete", slo.service)
    before = _snapshot(_read(slo))
    _resolve_all(session, slo)
    session.delete(slo)
    session.flush()
    audit.record(session, actor=actor, action="slo.delete", target=f"slo:{name}", before=before)


def adopt(session: Session, *, name: str, actor: Actor) -> None:
    slo = _get(session, name)
    if slo.managed_by != "config":
        slo.managed_by = "config"
        session.flush()
        audit.record(session, actor=actor, action="slo.adopt", target=f"slo:{name}",
                     before={"managed_by": "runtime"}, after={"managed_by": "config"})


# ---------------------------------------------------------------- per-minute accounting


def _selector(text: str) -> _rules.Selector:
    return _rules.parse_selector(text)


def _minute_sums(session: Session, ids: list[int], start_ms: int, end_ms: int, *, good_expr=None) -> dict[int, tuple[float, float]]:
    """minute → (sum or good count, sample count) for the given series."""
    if not ids:
        return {}
    minute = (Sample.ts_ms // MINUTE_MS) * MINUTE_MS
    first = good_expr if good_expr is not None else func.sum(Sample.value)
    rows = session.execute(
        select(minute, first, func.count())
        .where(Sample.series_id.in_(ids), Sample.ts_ms >= start_ms, Sample.ts_ms < end_ms)
        .group_by(minute)
    ).all()
    return {int(m): (float(a or 0), float(c)) for m, a, c in rows}


def _counter_minutes(session: Session, ids: list[int], start_ms: int, end_ms: int) -> dict[int, float]:
    """minute → increase of the counters (reset-aware), counting the step into each minute."""
    pts = store.raw_points(session, ids, start_ms - 10 * MINUTE_MS, end_ms - 1)
    out: dict[int, float] = defaultdict(float)
    for points in pts.values():
        for (_, prev), (ts, cur) in zip(points, points[1:]):
            if ts < start_ms:
                continue
            out[ts // MINUTE_MS * MINUTE_MS] += cur - prev if cur >= prev else cur
    return out


def _events(session: Session, slo: Slo, start_ms: int, end_ms: int) -> dict[int, tuple[float, float]]:
    """minute → (good, total) events of this SLO's source in [start, end)."""
    src = slo.source or {}
    if src.get("monitor"):
        name = "probe_success" if slo.kind == "availability" else "probe_duration_seconds"
        ids = [sid for sid, _ in store.find_series(session, _rules.Selector(name, (_rules.Matcher("monitor", "=", src["monitor"]),)))]
        if slo.kind == "availability":
            return _minute_sums(session, ids, start_ms, end_ms)
        threshold = durations.parse(src["threshold"]).total_seconds()
        good = func.sum(case((Sample.value <= threshold, 1), else_=0))
        # a failed check has no latency sample; count it as bad by taking totals from probe_success
        succ = [sid for sid, _ in store.find_series(session, _rules.Selector("probe_success", (_rules.Matcher("monitor", "=", src["monitor"]),)))]
        fast = _minute_sums(session, ids, start_ms, end_ms, good_expr=good)
        total = _minute_sums(session, succ, start_ms, end_ms)
        return {m: (fast.get(m, (0.0, 0.0))[0], t[1]) for m, t in total.items()}
    if src.get("metric"):
        ids = [sid for sid, _ in store.find_series(session, _selector(src["metric"]))]
        threshold = durations.parse(src["threshold"]).total_seconds()
        good = func.sum(case((Sample.value <= threshold, 1), else_=0))
        return _minute_sums(session, ids, start_ms, end_ms, good_expr=good)
    if src.get("good"):
        gids = [sid for sid, _ in store.find_series(session, _selector(src["good"]))]
        tids = [sid for sid, _ in store.find_series(session, _selector(src["total"]))]
        if src.get("counters"):
            g, t = _counter_minutes(session, gids, start_ms, end_ms), _counter_minutes(session, tids, start_ms, end_ms)
        else:
            g = {m: v[0] for m, v in _minute_sums(session, gids, start_ms, end_ms).items()}
            t = {m: v[0] for m, v in _minute_sums(session, tids, start_ms, end_ms).items()}
        return {m: (min(g.get(m, 0.0), tot), tot) for m, tot in t.items() if tot > 0}
    if src.get("prometheus_url"):
        from watchkeeper.monitoring.rules import prometheus_query

        out = {}
        start = max(start_ms, end_ms - 60 * MINUTE_MS)  # PromQL: no long back-fill
        for m in range(start - start % MINUTE_MS, end_ms, MINUTE_MS):
            at = (m + MINUTE_MS) / 1000
            good = sum(v for _, v in prometheus_query(src["prometheus_url"], src["good_query"], 10.0, at))
            total = sum(v for _, v in prometheus_query(src["prometheus_url"], src["total_query"], 10.0, at))
            if total > 0:
                out[m] = (min(good, total), total)
        return out
    return {}


def account(session: Session, slo: Slo, *, now: dt.datetime, retention: store.Retention) -> int:
    """Write good/total samples for each complete minute not yet counted. Returns minutes written."""
    end = to_ms(now) // MINUTE_MS * MINUTE_MS
    start = slo.evaluated_until_ms
    if start is None:
        horizon = min(dt.timedelta(seconds=slo.window_seconds), retention.raw)
        start = to_ms(now - horizon) // MINUTE_MS * MINUTE_MS
    end = min(end, start + int(MAX_CATCH_UP.total_seconds() * 1000))
    if end <= start:
        return 0
    minutes = _events(session, slo, start, end)
    labels = {"slo": slo.name}
    samples = []
    for m, (good, total) in sorted(minutes.items()):
        samples.append((GOOD, labels, good, m))
        samples.append((TOTAL, labels, total, m))
    store.write(session, samples)
    slo.evaluated_until_ms = end
    return len(minutes)


def _window_sums(session: Session, slo_name: str, windows, *, at: dt.datetime, retention: store.Retention) -> dict[dt.timedelta, tuple[float, float]]:
    out = {}
    for window in windows:
        vals = []
        for name in (GOOD, TOTAL):
            q = _rules.Query("sum", _rules.Selector(name, (_rules.Matcher("slo", "=", slo_name),)), window.total_seconds())
            vals.append(store.evaluate(session, q, at=at, retention=retention).get((), 0.0))
        out[window] = (vals[0], vals[1])
    return out


def _alert_labels(slo: Slo, alert: _burn.BurnAlert) -> dict[str, str]:
    return {"slo": slo.name, "alert": alert.name, "window": f"{_fmt(alert.long)}/{_fmt(alert.short)}",
            "severity": alert.severity, "slo_kind": slo.kind}


def _fmt(delta: dt.timedelta) -> str:
    return durations.format(delta)


def _emit(session: Session, slo: Slo, alert: _burn.BurnAlert, state: SloAlert, *, firing: bool) -> None:
    budget = alert.budget_share(dt.timedelta(seconds=slo.window_seconds))
    summary = (f"SLO '{slo.name}' ({slo.target:g}%) is burning its error budget {state.burn_long or 0:.1f}× too fast "
               f"over {_fmt(alert.long)} and {state.burn_short or 0:.1f}× over {_fmt(alert.short)}"
               if firing else f"SLO '{slo.name}' burn rate back under {alert.factor:g}× ({alert.name})")
    signals.emit(
        session, source="slo", name=slo.name, firing=firing, alertname="SLOErrorBudgetBurn",
        labels=_alert_labels(slo, alert),
        annotations={"summary": summary,
                     "description": f"{alert.factor:g}× over {_fmt(alert.long)} spends {budget:.1%} of the "
                                    f"{_fmt(dt.timedelta(seconds=slo.window_seconds))} budget in that time"},
        starts_at=state.since or clock.utcnow(), service=slo.service,
        severity="critical" if alert.severity == "page" else "warning",
        details={"burn_long": state.burn_long, "burn_short": state.burn_short, "factor": alert.factor},
    )


def _resolve_all(session: Session, slo: Slo) -> None:
    policy = {a.name: a for a in _burn.POLICY}
    for state in session.execute(select(SloAlert).where(SloAlert.slo_id == slo.id)).scalars():
        if state.firing and state.alert in policy:
            state.firing = False
            _emit(session, slo, policy[state.alert], state, firing=False)
    session.flush()


def evaluate_slo(session: Session, slo: Slo, *, now: dt.datetime | None = None, retention: store.Retention | None = None) -> int:
    """Count new minutes, then fire or resolve burn-rate alerts. Returns transitions. Does not commit."""
    now = now or clock.utcnow()
    retention = retention or store.Retention()
    try:
        account(session, slo, now=now, retention=retention)
        slo.last_error = None
    except (RuntimeError, _rules.RuleSyntaxError, ValueError) as exc:
        slo.last_error = str(exc)[:1000]
        log.warning("SLO accounting failed", extra={"slo": slo.name, "error": slo.last_error})
        return 0
    if not slo.alerting:
        return 0
    at = from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else now
    sums = _window_sums(session, slo.name, _burn.WINDOWS, at=at, retention=retention)
    results = _burn.evaluate(sums, target_percent=slo.target)
    states = {s.alert: s for s in session.execute(select(SloAlert).where(SloAlert.slo_id == slo.id)).scalars()}
    transitions = 0
    for alert in _burn.POLICY:
        firing, long_b, short_b = results[alert.name]
        state = states.get(alert.name)
        if state is None:
            state = SloAlert(slo_id=slo.id, alert=alert.name, firing=False)
            session.add(state)
        state.burn_long, state.burn_short = long_b, short_b
        if firing and not state.firing:
            state.firing, state.since = True, at
            _emit(session, slo, alert, state, firing=True)
            transitions += 1
        elif not firing and state.firing:
            state.firing = False
            _emit(session, slo, alert, state, firing=False)
            state.since = at
            transitions += 1
    session.flush()
    return transitions


def evaluate_all(session: Session, *, now: dt.datetime | None = None, retention: store.Retention | None = None) -> int:
    total = 0
    for slo in session.execute(select(Slo).order_by(Slo.id)).scalars().all():
        total += evaluate_slo(session, slo, now=now, retention=retention)
    return total


def status(session: Session, *, name: str, now: dt.datetime | None = None, retention: store.Retention | None = None) -> SloStatus:
    """Attainment, budget left and burn rates of one SLO (as of the last counted minute)."""
    slo = _get(session, name)
    retention = retention or store.Retention()
    at = from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else (now or clock.utcnow())
    window = dt.timedelta(seconds=slo.window_seconds)
    sums = _window_sums(session, slo.name, list(_burn.WINDOWS) + [window], at=at, retention=retention)
    good, total = sums[window]
    results = _burn.evaluate(sums, target_percent=slo.target)
    firing = {s.alert: s.firing for s in session.execute(select(SloAlert).where(SloAlert.slo_id == slo.id)).scalars()}
    return SloStatus(
        slo=_read(slo), good=good, total=total,
        attainment_percent=round(100.0 * good / total, 5) if total else None,
        budget_remaining=_burn.budget_remaining(good, total, target_percent=slo.target),
        burn=[BurnRead(alert=a.name, severity=a.severity, factor=a.factor, long_window=a.long, short_window=a.short,
                       burn_long=results[a.name][1], burn_short=results[a.name][2], firing=firing.get(a.name, False))
              for a in _burn.POLICY],
        evaluated_until=from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else None,
    )


def burn_history(session: Session, *, name: str, hours: int = 24, retention: store.Retention | None = None) -> dict:
    """Per-minute error ratio and the remaining budget over the last `hours` (for the SLO chart)."""
    slo = _get(session, name)
    end = from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else clock.utcnow()
    start = end - dt.timedelta(hours=hours)
    sel_g = _rules.Selector(GOOD, (_rules.Matcher("slo", "=", name),))
    sel_t = _rules.Selector(TOTAL, (_rules.Matcher("slo", "=", name),))
    g = store.read_series(session, sel_g, start=start, end=end, retention=retention)
    t = store.read_series(session, sel_t, start=start, end=end, retention=retention)
    gp = dict(g[0].points) if g else {}
    budget = 1 - slo.target / 100
    points = []
    for ts, total in (t[0].points if t else []):
        good = gp.get(ts, 0.0)
        ratio = (total - good) / total if total else 0.0
        points.append((ts, ratio / budget if budget else 0.0))
    return {"burn": points, "target": slo.target}


# ---------------------------------------------------------------- SLA report


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
                    q = _rules.Query("sum", _rules.Selector(metric, (_rules.Matcher("slo", "=", name),)), window)
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
                pattern = "|".join(_escape_re(m) for m in monitors)
                sel = _rules.Selector("probe_success", (_rules.Matcher("monitor", "=~", pattern),))
                good = store.evaluate(session, _rules.Query("sum", sel, window), at=end_at, retention=retention).get((), 0.0)
                total = store.evaluate(session, _rules.Query("count", sel, window), at=end_at, retention=retention).get((), 0.0)
        target = svc.targets.sla if svc.targets.sla is not None else svc.targets.slo
        attainment = round(100.0 * good / total, 4) if total else None
        rows.append(SlaRow(
            service=svc.name, month=month, sla_target=svc.targets.sla, slo_target=svc.targets.slo,
            attainment_percent=attainment, met=(attainment >= target) if attainment is not None and target is not None else None,
            source=source, good=good, total=total,
        ))
    return SlaReport(month=month, rows=rows)


def _escape_re(text: str) -> str:
    import re

    return re.escape(text)
