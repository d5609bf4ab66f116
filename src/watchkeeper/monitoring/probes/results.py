"""Probe results from the runner: store each check once, feed the metrics store, and apply the
results to location and monitor state (up/down transitions become signals).

Recording results is data, not configuration, so it is not audited — its transitions are
recorded as signals instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.db.engine import is_postgres
from watchkeeper.db.statements import insert_ignore
from watchkeeper.monitoring.metrics import store
from watchkeeper.monitoring.models import Check, Location, Monitor, Series
from watchkeeper.monitoring.probes import _rows
from watchkeeper.monitoring.probes._state import LocationState, Status, after_result, monitor_status
from watchkeeper.monitoring.probes._transitions import set_status, set_warning
from watchkeeper.monitoring.probes.kinds import ProbeResult

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ResultIn:
    """One finished check handed from the probe runner to `record_results`."""

    location_id: int
    monitor_id: int
    monitor: str
    location: str
    slot_ms: int
    checked_at: dt.datetime
    result: ProbeResult
    attempts: int = 0  # failed flushes so far (the runner gives up on a result after a few)


@dataclasses.dataclass
class RecordStats:
    recorded: int = 0
    duplicates: int = 0
    stale: int = 0
    transitions: int = 0
    gone: int = 0  # results for a monitor or location deleted (or deleted and re-created) while the check ran


def live_results(session: Session, results: list[ResultIn]) -> list[ResultIn]:
    """The results whose location still belongs to the monitor that was checked.

    A monitor deleted mid-check has no rows to record against (its checks would violate the
    foreign key and block the whole batch). On SQLite a deleted monitor's ids are reused by the
    next one created, so a result is also dropped when the monitor now at that id has another
    name. (A monitor deleted and re-created under the same name mid-check takes that one
    result; results may be back-dated, so creation time cannot tell them apart.)
    """
    loc_ids = sorted({r.location_id for r in results})
    live = {
        loc_id: (monitor_id, name)
        for loc_id, monitor_id, name in session.execute(
            select(Location.id, Location.monitor_id, Monitor.name)
            .join(Monitor, Monitor.id == Location.monitor_id).where(Location.id.in_(loc_ids))
        )
    }
    kept = []
    for r in results:
        row = live.get(r.location_id)
        if row is None:
            continue
        monitor_id, name = row
        if monitor_id != r.monitor_id or name != r.monitor:
            continue
        kept.append(r)
    return kept


def _write_scraped(session: Session, r: ResultIn, cache: dict[str, int] | None, max_series: int | None) -> None:
    """A scrape's samples. Past the store's series limit, the samples of series it does not
    hold yet are dropped (with a warning naming the monitor); known series keep being written."""
    rows = [(name, lbl, value, r.slot_ms) for name, lbl, value in r.result.samples]
    try:
        store.write(session, rows, cache=cache, max_series=max_series)  # refuses before it writes anything
        return
    except store.SeriesLimitReached as exc:
        problem = exc
    keys = sorted({store.series_key(n, lbl) for n, lbl, _, _ in rows})
    known: set[str] = set()
    for i in range(0, len(keys), 500):
        known.update(session.execute(select(Series.key).where(Series.key.in_(keys[i : i + 500]))).scalars())
    kept = [row for row in rows if store.series_key(row[0], row[1]) in known]
    log.warning("scraped series over the store's series limit dropped",
                extra={"monitor": r.monitor, "dropped": len(rows) - len(kept), "limit": problem.limit})
    store.write(session, kept, cache=cache)


def record_results(
    session: Session, results: list[ResultIn], *, worker: str, series_cache: dict[str, int] | None = None,
    max_series: int | None = None,
) -> RecordStats:
    """Store a batch of check results and apply them to location and monitor state.

    A slot is recorded at most once (unique per monitor, location and slot). Results older
    than the newest one already applied to a location are stored but do not change state, so
    two workers finishing out of order cannot flap a monitor. Results of a monitor deleted while
    its check ran are dropped (`live_results`). Monitor rows are locked in id order (PostgreSQL)
    while their status is recomputed from every location. Does not commit.
    """
    stats = RecordStats()
    if not results:
        return stats
    kept = live_results(session, results)
    stats.gone = len(results) - len(kept)
    if stats.gone:
        log.info("probe results for deleted monitors dropped", extra={"results": stats.gone, "worker": worker})
    results = kept
    if not results:
        return stats
    pg = is_postgres(session)
    rows = [{
        "monitor_id": r.monitor_id, "location": r.location, "slot_ms": r.slot_ms, "checked_at": r.checked_at,
        "ok": r.result.ok, "latency_ms": r.result.latency_ms,
        "error": r.result.error if not r.result.ok else r.result.warning, "worker": worker,
    } for r in results]
    inserted = insert_ignore(session, Check, rows, ["monitor_id", "location", "slot_ms"], count_column=Check.id)
    stats.recorded, stats.duplicates = inserted, len(rows) - inserted
    if stats.duplicates:
        log.error("probe slot recorded twice; duplicates dropped", extra={"duplicates": stats.duplicates, "worker": worker})
    samples = []
    for r in results:
        labels = {"monitor": r.monitor, "location": r.location}
        ts = r.slot_ms
        samples.append(("probe_success", labels, 1.0 if r.result.ok else 0.0, ts))
        if r.result.latency_ms is not None:
            samples.append(("probe_duration_seconds", labels, r.result.latency_ms / 1000, ts))
    store.write(session, samples, cache=series_cache)  # one series pair per monitor: never capped
    for r in results:
        if r.result.samples:
            _write_scraped(session, r, series_cache, max_series)

    loc_ids = sorted({r.location_id for r in results})
    query = select(Location).where(Location.id.in_(loc_ids)).order_by(Location.id)
    if pg:
        query = query.with_for_update()
    locs = {loc.id: loc for loc in session.execute(query).scalars()}
    monitor_ids = sorted({r.monitor_id for r in results})
    monitors = {m.id: m for m in session.execute(select(Monitor).where(Monitor.id.in_(monitor_ids))).scalars()}
    changed: dict[int, ResultIn] = {}
    warnings: dict[int, str | None] = {}
    for r in sorted(results, key=lambda x: x.slot_ms):
        loc, m = locs.get(r.location_id), monitors.get(r.monitor_id)
        if loc is None or m is None:
            continue  # deleted while the check ran
        if loc.last_slot_ms is not None and r.slot_ms <= loc.last_slot_ms:
            stats.stale += 1
            continue
        before = Status(loc.status)
        state = after_result(LocationState(before, loc.consecutive_failures), ok=r.result.ok,
                             failures_before_down=m.failures_before_down)
        loc.status, loc.consecutive_failures = state.status.value, state.consecutive_failures
        loc.last_slot_ms, loc.last_check_at = r.slot_ms, r.checked_at
        loc.last_latency_ms, loc.last_error, loc.checked_by = r.result.latency_ms, r.result.error, worker
        if state.status != before:
            changed[m.id] = r
        if r.result.ok:
            warnings[m.id] = r.result.warning
    need = sorted(set(changed) | {mid for mid, w in warnings.items() if w != monitors[mid].warning})
    if need:
        query = select(Monitor).where(Monitor.id.in_(need)).order_by(Monitor.id).execution_options(populate_existing=True)
        if pg:
            query = query.with_for_update()
        fresh = {m.id: m for m in session.execute(query).scalars()}
        all_locs = _rows.locations(session, need)
        for mid in need:
            m = fresh.get(mid)
            if m is None or not m.enabled:
                continue
            if mid in changed:
                r = changed[mid]
                statuses = [Status(loc.status) for loc in all_locs[mid]]
                new = monitor_status(statuses, quorum=m.quorum)
                old = m.status
                set_status(session, m, new, at=r.checked_at, error=r.result.error,
                            details={"locations": {loc.location: loc.status for loc in all_locs[mid]}})
                stats.transitions += int(m.status != old)
            if mid in warnings and warnings[mid] != m.warning:
                set_warning(session, m, warnings[mid])
    session.flush()
    return stats
