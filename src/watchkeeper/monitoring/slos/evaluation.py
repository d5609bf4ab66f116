"""SLO evaluation: per-minute good/total accounting and the multi-window burn-rate alerts.

Every minute the worker turns each SLO's source (probe results, metric series, latency samples
or PromQL) into two series in the metrics store, `slo_good_events{slo=…}` and
`slo_total_events{slo=…}`, one sample per minute. Burn rates over 5 m … 3 d and the budget over
the whole window are then sums of those series, read from raw samples or roll-ups — cheap for
any window, identical for every kind of source. The arithmetic is in _burn.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from watchkeeper import clock, durations, egress
from watchkeeper.clock import from_ms, to_ms
from watchkeeper.signals import service as signals
from watchkeeper.monitoring.metrics import language, store
from watchkeeper.monitoring.metrics.rules import prometheus_query
from watchkeeper.monitoring.models import Sample, Slo, SloAlert
from watchkeeper.monitoring.slos import _burn

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
GOOD, TOTAL = "slo_good_events", "slo_total_events"
MAX_CATCH_UP = dt.timedelta(days=8)  # one grouped query per source covers this much


def events_selector(metric: str, slo: str) -> language.Selector:
    """The series of one SLO's good (GOOD) or total (TOTAL) events."""
    return language.Selector(metric, (language.Matcher("slo", "=", slo),))


def _selector(text: str) -> language.Selector:
    return language.parse_selector(text)


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


def _events(session: Session, slo: Slo, start_ms: int, end_ms: int,
            policy: egress.Egress = egress.DEFAULT) -> dict[int, tuple[float, float]]:
    """minute → (good, total) events of this SLO's source in [start, end)."""
    src = slo.source or {}
    if src.get("monitor"):
        name = "probe_success" if slo.kind == "availability" else "probe_duration_seconds"
        ids = [sid for sid, _ in store.find_series(session, language.Selector(name, (language.Matcher("monitor", "=", src["monitor"]),)))]
        if slo.kind == "availability":
            return _minute_sums(session, ids, start_ms, end_ms)
        threshold = durations.parse(src["threshold"]).total_seconds()
        good = func.sum(case((Sample.value <= threshold, 1), else_=0))
        # a failed check has no latency sample; count it as bad by taking totals from probe_success
        succ = [sid for sid, _ in store.find_series(session, language.Selector("probe_success", (language.Matcher("monitor", "=", src["monitor"]),)))]
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
        out = {}
        start = max(start_ms, end_ms - 60 * MINUTE_MS)  # PromQL: no long back-fill
        for m in range(start - start % MINUTE_MS, end_ms, MINUTE_MS):
            at = (m + MINUTE_MS) / 1000
            good = sum(v for _, v in prometheus_query(src["prometheus_url"], src["good_query"], 10.0, at, egress=policy))
            total = sum(v for _, v in prometheus_query(src["prometheus_url"], src["total_query"], 10.0, at, egress=policy))
            if total > 0:
                out[m] = (min(good, total), total)
        return out
    return {}


HOUR_MS = 3_600_000


def drop_events(session: Session, slo_name: str, *, from_ms: int | None = None) -> None:
    """Delete an SLO's good/total events (from an hour boundary on, or all)."""
    for metric in (GOOD, TOTAL):
        store.drop(session, events_selector(metric, slo_name), from_ms=from_ms)


def _backfill_start(slo: Slo, now: dt.datetime, retention: store.Retention) -> int:
    """Where counting starts afresh (a new SLO, or a new source): as far back as the source can be
    re-read, on an hour boundary so the events from there on can be replaced whole."""
    horizon = min(dt.timedelta(seconds=slo.window_seconds), retention.raw)
    if (slo.source or {}).get("prometheus_url"):
        horizon = dt.timedelta(hours=1)  # PromQL is not back-filled further (see _events)
    return to_ms(now - horizon) // HOUR_MS * HOUR_MS


def account(session: Session, slo: Slo, *, now: dt.datetime, retention: store.Retention,
            policy: egress.Egress = egress.DEFAULT) -> int:
    """Write good/total samples for each complete minute not yet counted. Returns minutes written.

    Counting afresh (evaluated_until_ms unset: a new SLO, or its source changed) replaces the
    events stored from the back-fill start on, so the old source's minutes are never added to
    the new one's; older events, which no source can re-derive, stay as they were counted.
    """
    end = to_ms(now) // MINUTE_MS * MINUTE_MS
    start = slo.evaluated_until_ms
    if start is None:
        start = _backfill_start(slo, now, retention)
        drop_events(session, slo.name, from_ms=start)
    end = min(end, start + int(MAX_CATCH_UP.total_seconds() * 1000))
    if end <= start:
        return 0
    minutes = _events(session, slo, start, end, policy)
    labels = {"slo": slo.name}
    samples = []
    for m, (good, total) in sorted(minutes.items()):
        samples.append((GOOD, labels, good, m))
        samples.append((TOTAL, labels, total, m))
    store.write(session, samples)
    slo.evaluated_until_ms = end
    return len(minutes)


def window_sums(session: Session, slo_name: str, windows, *, at: dt.datetime, retention: store.Retention) -> dict[dt.timedelta, tuple[float, float]]:
    out = {}
    for window in windows:
        vals = []
        for name in (GOOD, TOTAL):
            q = language.Query("sum", events_selector(name, slo_name), window.total_seconds())
            vals.append(store.evaluate(session, q, at=at, retention=retention).get((), 0.0))
        out[window] = (vals[0], vals[1])
    return out


def _severity(alert: _burn.BurnAlert) -> str:
    """The product's severity for a burn alert: pages are critical, tickets warnings (so routes
    written for `severity="critical"` catch fast burns); the Workbook's word is `urgency`."""
    return "critical" if alert.severity == "page" else "warning"


def _alert_labels(slo: Slo, alert: _burn.BurnAlert) -> dict[str, str]:
    return {"slo": slo.name, "alert": alert.name, "window": f"{_fmt(alert.long)}/{_fmt(alert.short)}",
            "severity": _severity(alert), "urgency": alert.severity, "slo_kind": slo.kind}


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
        severity=_severity(alert),
        details={"burn_long": state.burn_long, "burn_short": state.burn_short, "factor": alert.factor},
    )


def resolve_all(session: Session, slo: Slo) -> None:
    policy = {a.name: a for a in _burn.POLICY}
    for state in session.execute(select(SloAlert).where(SloAlert.slo_id == slo.id)).scalars():
        if state.firing and state.alert in policy:
            state.firing = False
            _emit(session, slo, policy[state.alert], state, firing=False)
    session.flush()


def evaluate_slo(session: Session, slo: Slo, *, now: dt.datetime | None = None, retention: store.Retention | None = None,
                 policy: egress.Egress = egress.DEFAULT) -> int:
    """Count new minutes, then fire or resolve burn-rate alerts. Returns transitions. Does not commit."""
    now = now or clock.utcnow()
    retention = retention or store.Retention()
    try:
        account(session, slo, now=now, retention=retention, policy=policy)
        slo.last_error = None
    except (RuntimeError, language.RuleSyntaxError, ValueError) as exc:
        slo.last_error = str(exc)[:1000]
        log.warning("SLO accounting failed", extra={"slo": slo.name, "error": slo.last_error})
        return 0
    if not slo.alerting:
        return 0
    at = from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else now
    sums = window_sums(session, slo.name, _burn.WINDOWS, at=at, retention=retention)
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


def evaluate_all(session: Session, *, now: dt.datetime | None = None, retention: store.Retention | None = None,
                 policy: egress.Egress = egress.DEFAULT) -> int:
    total = 0
    for slo in session.execute(select(Slo).order_by(Slo.id)).scalars().all():
        total += evaluate_slo(session, slo, now=now, retention=retention, policy=policy)
    return total

