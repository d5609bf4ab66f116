"""Monitors: create/update/delete, results from the probe runner, heartbeat pings, up/down
transitions, uptime. Rules and SLOs live in rules.py and slos.py; metrics in store.py.

Every mutating function checks permission, writes one audit event and flushes; the caller
owns the transaction. Recording probe results and pings is data, not configuration, so it is
not audited — its transitions are recorded as signals instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import secrets
from collections import defaultdict

from sqlalchemy import bindparam, case, func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.db.engine import is_postgres
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.monitoring import _heartbeat, _schedule, signals, store
from watchkeeper.monitoring._state import LocationState, Status, after_result, default_quorum, monitor_status
from watchkeeper.monitoring.models import Check, Location, Monitor, Ping
from watchkeeper.monitoring.probes import HttpClients, ProbeContext, ProbeResult
from watchkeeper.monitoring.probes import run as run_probe
from watchkeeper.monitoring.schemas import (
    KINDS, PROBE_KINDS, CheckRead, HeartbeatSpec, LocationRead, MonitorCreate, MonitorFilter, MonitorRead,
    MonitorUpdate, PingResult, PingSignal, ProbeOutcome, UptimeRead, parse_spec,
)

log = logging.getLogger(__name__)

ANY_LOCATION = "*"
_STATE_FIELDS = {"status", "status_since", "last_check_at", "last_error", "warning", "last_ping_at", "deadline_at",
                 "location_states", "created_at", "updated_at", "ping_path"}


class MonitorNotFound(NotFound):
    code = "monitor.not_found"


# ---------------------------------------------------------------- reading


def _get(session: Session, name: str, *, lock: bool = False) -> Monitor:
    query = select(Monitor).where(Monitor.name == name)
    if lock and is_postgres(session):
        query = query.with_for_update()
    monitor = session.execute(query).scalar_one_or_none()
    if monitor is None:
        raise MonitorNotFound(f"no monitor named '{name}'; `watchkeeper monitor list` shows them")
    return monitor


def _locations(session: Session, monitor_ids: list[int]) -> dict[int, list[Location]]:
    out: dict[int, list[Location]] = defaultdict(list)
    for i in range(0, len(monitor_ids), 500):
        for loc in session.execute(
            select(Location).where(Location.monitor_id.in_(monitor_ids[i : i + 500])).order_by(Location.location)
        ).scalars():
            out[loc.monitor_id].append(loc)
    return out


def _read(m: Monitor, locs: list[Location]) -> MonitorRead:
    last = max((loc.last_check_at for loc in locs if loc.last_check_at), default=None)
    data = dict(
        name=m.name, kind=m.kind, description=m.description, service=m.service,
        interval=dt.timedelta(seconds=m.interval_seconds), timeout=dt.timedelta(seconds=m.timeout_seconds),
        failures_before_down=m.failures_before_down, locations=list(m.locations or []), quorum=m.quorum,
        labels=dict(m.labels or {}), severity=m.severity, runbook_url=m.runbook_url, enabled=m.enabled,
        managed_by=m.managed_by, status=m.status, status_since=m.status_since,
        last_check_at=m.last_ping_at if m.kind == "heartbeat" else last, last_error=m.last_error,
        warning=m.warning, ping_path=f"/ping/{m.ping_token}" if m.ping_token else None,
        last_ping_at=m.last_ping_at, deadline_at=m.deadline_at, created_at=m.created_at, updated_at=m.updated_at,
        location_states=[
            LocationRead(location=loc.location, status=loc.status, consecutive_failures=loc.consecutive_failures,
                         last_check_at=loc.last_check_at, last_latency_ms=loc.last_latency_ms,
                         last_error=loc.last_error, checked_by=loc.checked_by)
            for loc in locs
        ],
    )
    data[m.kind] = dict(m.spec)
    return MonitorRead(**data)


def get_monitor(session: Session, *, name: str) -> MonitorRead:
    """Raises MonitorNotFound."""
    m = _get(session, name)
    return _read(m, _locations(session, [m.id])[m.id])


def find_monitor(session: Session, *, name: str) -> MonitorRead | None:
    m = session.execute(select(Monitor).where(Monitor.name == name)).scalar_one_or_none()
    return _read(m, _locations(session, [m.id])[m.id]) if m else None


def _service_teams(session: Session) -> dict[str, str]:
    system = Actor.system("monitoring", "system")
    return {s.name: s.team for s in catalog.list_services(session, actor=system)}


def list_monitors(session: Session, *, actor: Actor, filter: MonitorFilter | None = None) -> list[MonitorRead]:
    """Monitors the actor may see, by name."""
    require(actor, "monitor.read")
    filter = filter or MonitorFilter()
    query = select(Monitor).order_by(Monitor.name)
    if filter.service:
        query = query.where(Monitor.service == filter.service)
    if filter.status:
        query = query.where(Monitor.status == filter.status)
    if filter.kind:
        query = query.where(Monitor.kind == filter.kind)
    if filter.q:
        query = query.where(Monitor.name.contains(filter.q))
    rows = list(session.execute(query).scalars())
    teams = _service_teams(session) if not actor.superuser else {}
    rows = [m for m in rows if actor.superuser or _visible(actor, m, teams)]
    locs = _locations(session, [m.id for m in rows])
    return [_read(m, locs[m.id]) for m in rows]


def _visible(actor: Actor, m: Monitor, teams: dict[str, str]) -> bool:
    if m.service is None:
        return actor.can("monitor.read")
    return actor.can("monitor.read", team=teams.get(m.service), service=m.service)


def scope_of(session: Session, service: str | None) -> tuple[str | None, str | None]:
    """(team, service) for permission checks; InvalidInput for an unknown service."""
    if service is None:
        return None, None
    svc = catalog.find_service(session, name=service)
    if svc is None:
        raise InvalidInput(f"unknown service '{service}'; create it first or check `watchkeeper service list`", field="service")
    return svc.team, svc.name


def _require(session: Session, actor: Actor, permission: str, service: str | None) -> None:
    team, svc = scope_of(session, service)
    require(actor, permission, team=team, service=svc)


# ---------------------------------------------------------------- writing


def _snapshot(read: MonitorRead) -> dict:
    return read.model_dump(mode="json", exclude=_STATE_FIELDS, exclude_none=True)


def _set_spec(m: Monitor, kind: str, spec) -> None:
    m.kind = kind
    m.spec = spec.model_dump(mode="json", by_alias=True)
    if kind == "heartbeat":
        if not m.ping_token:
            m.ping_token = secrets.token_urlsafe(18)
    else:
        m.ping_token = None
        m.last_ping_at = m.last_start_at = m.deadline_at = None


def sync_locations(session: Session, m: Monitor, *, now: dt.datetime | None = None) -> None:
    """Keep one slot stream per location the monitor is checked from. New or re-timed streams
    start at the first slot after now; a disabled monitor's streams are parked (due NULL)."""
    now_ms = _schedule.to_ms(now or clock.utcnow())
    want = (list(m.locations) or [ANY_LOCATION]) if m.kind in PROBE_KINDS else []
    existing = {loc.location: loc for loc in session.execute(select(Location).where(Location.monitor_id == m.id)).scalars()}
    interval_ms = max(int(m.interval_seconds * 1000), 1000)
    for name in want:
        row = existing.pop(name, None)
        if row is None:
            row = Location(monitor_id=m.id, location=name, interval_ms=interval_ms, status=Status.PENDING.value,
                           consecutive_failures=0)
            session.add(row)
        if not m.enabled:
            row.due_ms = None
        elif row.due_ms is None or row.interval_ms != interval_ms:
            row.due_ms = _schedule.first_slot_at_or_after(
                now_ms, interval_ms=interval_ms, phase=_schedule.phase_ms(m.name, interval_ms))
        row.interval_ms = interval_ms
    for row in existing.values():
        session.delete(row)
    session.flush()


def _check_command_permission(actor: Actor, kind: str) -> None:
    if kind == "command":
        # A command monitor runs a program on the worker hosts: admins only (monitor.command is global-only).
        require(actor, "monitor.command")


def create_monitor(session: Session, *, data: MonitorCreate, actor: Actor, managed_by: str = "runtime") -> MonitorRead:
    """Create a monitor. Raises Conflict, InvalidInput (unknown service). Audited. Does not commit."""
    _require(session, actor, "monitor.create", data.service)
    _check_command_permission(actor, data.kind)
    if session.execute(select(Monitor.id).where(Monitor.name == data.name)).first():
        raise Conflict(f"monitor '{data.name}' already exists; update it instead", code="monitor.exists", field="name")
    m = Monitor(
        name=data.name, description=data.description, service=data.service,
        interval_seconds=data.interval.total_seconds(), timeout_seconds=data.timeout.total_seconds(),
        failures_before_down=data.failures_before_down, locations=list(data.locations),
        quorum=data.quorum or default_quorum(data.locations), labels=dict(data.labels), severity=data.severity,
        runbook_url=data.runbook_url, enabled=data.enabled, managed_by=managed_by,
        status=Status.PENDING.value if data.enabled else Status.PAUSED.value, status_since=clock.utcnow(),
    )
    _set_spec(m, data.kind, data.spec())
    session.add(m)
    session.flush()
    sync_locations(session, m)
    read = get_monitor(session, name=m.name)
    audit.record(session, actor=actor, action="monitor.create", target=f"monitor:{m.name}", after=_snapshot(read))
    return read


_SIMPLE = ("description", "failures_before_down", "labels", "severity", "runbook_url")


def update_monitor(session: Session, *, name: str, data: MonitorUpdate, actor: Actor) -> MonitorRead:
    """Change a monitor. Replacing the spec (http, tcp, ...) may change its kind. Disabling a
    down monitor resolves its alert. Audited with the diff. Does not commit."""
    m = _get(session, name, lock=True)
    _require(session, actor, "monitor.update", m.service)
    fields = data.model_fields_set
    new_kinds = [k for k in KINDS if getattr(data, k) is not None]
    _check_command_permission(actor, new_kinds[0] if new_kinds else m.kind)
    if "service" in fields and data.service != m.service:
        _require(session, actor, "monitor.update", data.service)
    before = _snapshot(_read(m, _locations(session, [m.id])[m.id]))
    interval = data.interval if data.interval is not None else dt.timedelta(seconds=m.interval_seconds)
    timeout = data.timeout if data.timeout is not None else dt.timedelta(seconds=m.timeout_seconds)
    locations = data.locations if data.locations is not None else list(m.locations or [])
    quorum = data.quorum if data.quorum is not None else (default_quorum(locations) if data.locations is not None else m.quorum)
    from watchkeeper.monitoring.schemas import _check_common

    try:
        _check_common(interval, timeout, locations, quorum)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="interval") from None
    for field in _SIMPLE:
        if field in fields:
            value = getattr(data, field)
            if value is None and field not in ("description", "runbook_url"):
                continue
            setattr(m, field, value)
    if "service" in fields:
        m.service = data.service
    m.interval_seconds, m.timeout_seconds = interval.total_seconds(), timeout.total_seconds()
    m.locations, m.quorum = list(locations), quorum
    if new_kinds:
        kind = new_kinds[0]
        _set_spec(m, kind, getattr(data, kind))
    if data.enabled is not None and data.enabled != m.enabled:
        _set_enabled(session, m, data.enabled)
    session.flush()
    sync_locations(session, m)
    after = get_monitor(session, name=name)
    b, a = audit.diff(before, _snapshot(after))
    if a or b:
        audit.record(session, actor=actor, action="monitor.update", target=f"monitor:{name}", before=b, after=a)
    return after


def _set_enabled(session: Session, m: Monitor, enabled: bool) -> None:
    now = clock.utcnow()
    m.enabled = enabled
    if not enabled:
        if m.status == Status.DOWN.value:
            _transition(session, m, firing=False, reason="monitor paused")
        m.status, m.status_since = Status.PAUSED.value, now
        if m.warning:
            _warning(session, m, None)
    else:
        m.status, m.status_since = Status.PENDING.value, now
        for loc in session.execute(select(Location).where(Location.monitor_id == m.id)).scalars():
            loc.status, loc.consecutive_failures = Status.PENDING.value, 0
        if m.kind == "heartbeat":
            m.deadline_at = None


def set_enabled(session: Session, *, name: str, enabled: bool, actor: Actor) -> MonitorRead:
    """Pause or resume a monitor. Audited. Does not commit."""
    return update_monitor(session, name=name, data=MonitorUpdate(enabled=enabled), actor=actor)


def delete_monitor(session: Session, *, name: str, actor: Actor) -> None:
    """Delete a monitor with its results. A firing alert is resolved first. Audited."""
    m = _get(session, name, lock=True)
    _require(session, actor, "monitor.delete", m.service)
    before = _snapshot(_read(m, _locations(session, [m.id])[m.id]))
    if m.status == Status.DOWN.value:
        _transition(session, m, firing=False, reason="monitor deleted")
    if m.warning:
        _warning(session, m, None)
    session.delete(m)
    session.flush()
    audit.record(session, actor=actor, action="monitor.delete", target=f"monitor:{name}", before=before)


def adopt(session: Session, *, name: str, actor: Actor) -> None:
    """Hand a monitor made at run time over to the config file. Audited."""
    m = _get(session, name)
    if m.managed_by != "config":
        m.managed_by = "config"
        session.flush()
        audit.record(session, actor=actor, action="monitor.adopt", target=f"monitor:{name}",
                     before={"managed_by": "runtime"}, after={"managed_by": "config"})


# ---------------------------------------------------------------- transitions


def _alertname(m: Monitor) -> str:
    return "HeartbeatMissed" if m.kind == "heartbeat" else "MonitorDown"


def _transition(session: Session, m: Monitor, *, firing: bool, reason: str | None = None,
                details: dict | None = None, starts_at: dt.datetime | None = None) -> None:
    """Publish the monitor going down (firing) or recovering. `starts_at` is when it went down
    (default: its status_since, which is still the down time when resolving by pause/delete)."""
    source = "heartbeat" if m.kind == "heartbeat" else "probe"
    what = "missed its ping" if m.kind == "heartbeat" else "is down"
    summary = f"{m.kind} monitor '{m.name}' {what}" if firing else f"{m.kind} monitor '{m.name}' recovered"
    annotations = {"summary": summary, "description": m.last_error or reason or "", "runbook_url": m.runbook_url or ""}
    signals.emit(
        session, source=source, name=m.name, firing=firing, alertname=_alertname(m),
        labels={**(m.labels or {}), "monitor": m.name, "kind": m.kind}, annotations=annotations,
        starts_at=starts_at or m.status_since or clock.utcnow(), service=m.service, severity=m.severity,
        details={**(details or {}), **({"reason": reason} if reason else {})},
    )


def _warning(session: Session, m: Monitor, text: str | None) -> None:
    """Raise or clear a monitor's warning (e.g. a certificate close to expiry) as its own signal."""
    firing = text is not None
    signals.emit(
        session, source="probe", name=m.name, firing=firing, alertname="MonitorWarning",
        labels={**(m.labels or {}), "monitor": m.name, "kind": m.kind},
        annotations={"summary": text or f"warning on '{m.name}' cleared", "runbook_url": m.runbook_url or ""},
        starts_at=clock.utcnow(), service=m.service, severity="warning",
    )
    m.warning = text


def _set_status(session: Session, m: Monitor, new: Status, *, at: dt.datetime, error: str | None,
                details: dict | None = None) -> None:
    old, down_since = Status(m.status), m.status_since
    if new == old:
        return
    m.status, m.status_since = new.value, at
    if new == Status.DOWN:
        m.last_error = error
        _transition(session, m, firing=True, details=details)
    elif old == Status.DOWN:
        _transition(session, m, firing=False, details=details, starts_at=down_since)
    log.info("monitor status changed", extra={"monitor": m.name, "from": old.value, "to": new.value})


# ---------------------------------------------------------------- probe results


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


@dataclasses.dataclass
class RecordStats:
    recorded: int = 0
    duplicates: int = 0
    stale: int = 0
    transitions: int = 0


def record_results(
    session: Session, results: list[ResultIn], *, worker: str, series_cache: dict[str, int] | None = None
) -> RecordStats:
    """Store a batch of check results and apply them to location and monitor state.

    A slot is recorded at most once (unique per monitor, location and slot). Results older
    than the newest one already applied to a location are stored but do not change state, so
    two workers finishing out of order cannot flap a monitor. Monitor rows are locked in id
    order (PostgreSQL) while their status is recomputed from every location. Does not commit.
    """
    stats = RecordStats()
    if not results:
        return stats
    pg = is_postgres(session)
    rows = [{
        "monitor_id": r.monitor_id, "location": r.location, "slot_ms": r.slot_ms, "checked_at": r.checked_at,
        "ok": r.result.ok, "latency_ms": r.result.latency_ms,
        "error": r.result.error if not r.result.ok else r.result.warning, "worker": worker,
    } for r in results]
    inserted = store.insert_ignore(session, Check, rows, ["monitor_id", "location", "slot_ms"], count_column=Check.id)
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
        for name, lbl, value in r.result.samples:
            samples.append((name, lbl, value, ts))
    store.write(session, samples, cache=series_cache)

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
        all_locs = _locations(session, need)
        for mid in need:
            m = fresh.get(mid)
            if m is None or not m.enabled:
                continue
            if mid in changed:
                r = changed[mid]
                statuses = [Status(loc.status) for loc in all_locs[mid]]
                new = monitor_status(statuses, quorum=m.quorum)
                old = m.status
                _set_status(session, m, new, at=r.checked_at, error=r.result.error,
                            details={"locations": {loc.location: loc.status for loc in all_locs[mid]}})
                stats.transitions += int(m.status != old)
            if mid in warnings and warnings[mid] != m.warning:
                _warning(session, m, warnings[mid])
    session.flush()
    return stats


# ---------------------------------------------------------------- one check on demand


def spec_of(m: Monitor | MonitorRead):
    kind = m.kind
    raw = getattr(m, kind) if isinstance(m, MonitorRead) else m.spec
    return parse_spec(kind, raw)


async def _check_async(kind: str, spec, *, name: str, location: str, timeout: float) -> ProbeResult:
    clients = HttpClients()
    try:
        return await run_probe(kind, spec, ProbeContext(monitor=name, location=location, timeout=timeout, http=clients))
    finally:
        await clients.aclose()


def prepare_check(session: Session, *, name: str, actor: Actor) -> MonitorRead:
    """Permission check and the monitor to run now (see run_check). Needs `monitor.check`."""
    m = _get(session, name)
    _require(session, actor, "monitor.check", m.service)
    _check_command_permission(actor, m.kind)
    return _read(m, [])


def run_check(monitor: MonitorRead, *, location: str = "cli", now: dt.datetime | None = None) -> ProbeOutcome:
    """Run one monitor once, here and now, and say what it saw. Stores nothing and uses no
    database session: the caller must not hold a transaction open while the probe runs (on
    SQLite that would block every writer, including the target if it is Watchkeeper itself).

    Heartbeats are not probed: the outcome reports whether the last ping is on time.
    """
    name = monitor.name
    if monitor.kind == "heartbeat":
        now = now or clock.utcnow()
        late = monitor.deadline_at is not None and monitor.deadline_at <= now
        error = None
        if monitor.last_ping_at is None:
            error = "no ping received yet"
        elif late:
            error = (f"last ping {monitor.last_ping_at:%Y-%m-%d %H:%M:%S} UTC; the next was due by "
                     f"{monitor.deadline_at:%Y-%m-%d %H:%M:%S} UTC")
        ok = error is None
        return ProbeOutcome(monitor=name, kind=monitor.kind, location=location, ok=ok, status="up" if ok else "down",
                            latency_ms=None, error=error, details={"ping_path": monitor.ping_path})
    spec = spec_of(monitor)
    result = asyncio.run(_check_async(monitor.kind, spec, name=name, location=location,
                                      timeout=monitor.timeout.total_seconds()))
    details = dict(result.details)
    if result.samples:
        details["samples"] = len(result.samples)
    return ProbeOutcome(
        monitor=name, kind=monitor.kind, location=location, ok=result.ok, status="up" if result.ok else "down",
        latency_ms=round(result.latency_ms, 2) if result.latency_ms is not None else None,
        error=result.error, warning=result.warning, details=details,
    )


# ---------------------------------------------------------------- heartbeats


def _hb_spec(m: Monitor) -> HeartbeatSpec:
    return HeartbeatSpec.model_validate(m.spec)


def _deadline(m: Monitor) -> dt.datetime | None:
    spec = _hb_spec(m)
    return _heartbeat.deadline(last_ping=m.last_ping_at, last_start=m.last_start_at, period=spec.period,
                               cron=spec.cron, timezone=spec.timezone, grace=spec.grace)


@dataclasses.dataclass(frozen=True)
class PingIn:
    """One heartbeat ping as it arrived: the token from the URL, the signal, and what to keep."""

    token: str
    signal: PingSignal = PingSignal.SUCCESS
    exit_status: int | None = None
    client: str | None = None
    body: str | None = None


def _not_found() -> MonitorNotFound:
    return MonitorNotFound("no heartbeat monitor has this ping URL; copy it from `watchkeeper monitor show NAME`",
                           code="heartbeat.not_found")


def ping(
    session: Session, *, token: str, signal: PingSignal = PingSignal.SUCCESS, exit_status: int | None = None,
    client: str | None = None, body: str | None = None,
) -> PingResult:
    """Record a heartbeat ping. `success` brings the monitor up, `fail` (or a non-zero exit
    status) takes it down at once, `start` marks a run as begun. The token in the URL is the
    credential. Raises MonitorNotFound for an unknown token. Does not commit."""
    (outcome,) = record_pings(session, [PingIn(token=token, signal=signal, exit_status=exit_status,
                                               client=client, body=body)])
    if isinstance(outcome, MonitorNotFound):
        raise outcome
    return outcome


def record_pings(session: Session, pings: list[PingIn]) -> list[PingResult | MonitorNotFound]:
    """Record many heartbeat pings, in order, as `ping` does one — with set-based SQL, so a
    batch costs little more than a single ping: one SELECT of every monitor the tokens name,
    then the ping rows and those monitors' new ping times and deadlines in one statement
    (two on SQLite); only a status change (a transition) adds its own UPDATE.

    Returns one outcome per ping, in the same order: its PingResult, or a MonitorNotFound in
    its place for a token that names no heartbeat monitor (that ping writes nothing; the others
    are unaffected). Up/down transitions publish SignalChanged in this transaction, so a late
    ping resolves HeartbeatMissed. Does not commit.

    On PostgreSQL the monitors are locked in id order (FOR NO KEY UPDATE): batches from several
    serve processes queue for the monitors they share instead of deadlocking, and each ping's
    time is taken after the lock, so a monitor's last ping time never goes backwards.
    """
    tokens = sorted({p.token for p in pings})
    query = select(Monitor).where(Monitor.ping_token.in_(tokens)).order_by(Monitor.id)
    if is_postgres(session):
        query = query.with_for_update(key_share=True)
    by_token = {m.ping_token: m for m in session.execute(query).scalars()}
    rows: list[dict] = []
    touched: dict[int, Monitor] = {}
    outcomes: list[PingResult | MonitorNotFound] = []
    for p in pings:
        m = by_token.get(p.token)
        if m is None or m.kind != "heartbeat":
            outcomes.append(_not_found())
            continue
        signal = p.signal
        if p.exit_status is not None:
            signal = PingSignal.SUCCESS if p.exit_status == 0 else PingSignal.FAIL
        now = clock.utcnow()
        rows.append({"monitor_id": m.id, "at": now, "signal": signal.value, "exit_status": p.exit_status,
                     "client": (p.client or "")[:100] or None, "body": p.body[:1000] if p.body else None})
        _apply_ping(session, m, signal=signal, exit_status=p.exit_status, body=p.body, now=now)
        touched[m.id] = m
        outcomes.append(PingResult(monitor=m.name, signal=signal, status=m.status))
    if rows:
        _write_pings(session, rows, list(touched.values()))
    session.flush()
    return outcomes


# One statement for a whole batch on PostgreSQL: arrays in, unnest() to rows, the ping rows
# inserted by a CTE of the monitors' UPDATE (one round trip). The SQL text never changes with
# the batch size, so it is compiled once and prepared by the server (a multi-row VALUES list
# would be a new statement for every size).
_PG_WRITE_PINGS = text(
    "WITH new_pings AS (INSERT INTO monitoring_ping (monitor_id, at, signal, exit_status, client, body) "
    "SELECT * FROM unnest(CAST(:p_monitor_id AS integer[]), CAST(:p_at AS timestamptz[]), "
    "CAST(:p_signal AS varchar[]), CAST(:p_exit_status AS integer[]), CAST(:p_client AS varchar[]), "
    "CAST(:p_body AS text[]))) "
    "UPDATE monitoring_monitor AS m SET last_ping_at = v.last_ping_at, last_start_at = v.last_start_at, "
    "deadline_at = v.deadline_at, updated_at = :now "
    "FROM unnest(CAST(:m_id AS integer[]), CAST(:m_last_ping_at AS timestamptz[]), "
    "CAST(:m_last_start_at AS timestamptz[]), CAST(:m_deadline_at AS timestamptz[])) "
    "AS v(id, last_ping_at, last_start_at, deadline_at) WHERE m.id = v.id"
)
_PING_COLUMNS = ("monitor_id", "at", "signal", "exit_status", "client", "body")
_PING_TIMES = ("last_ping_at", "last_start_at", "deadline_at")


def _write_pings(session: Session, rows: list[dict], monitors: list[Monitor]) -> None:
    """The batch's ping rows and its monitors' ping times and deadlines, in one statement on
    PostgreSQL (two executemany on SQLite, whose statements cost no round trip). The ORM
    objects carry these values as already stored (`_apply_ping`), so no flush writes them
    again; status changes made by transitions are flushed by the ORM as usual."""
    now = clock.utcnow()
    updates = []
    for m in monitors:
        # Only the last ping of the batch decides the deadline: compute it once per monitor
        # (a cron expression costs more than the rest of the ping).
        set_committed_value(m, "deadline_at", _deadline(m))
        set_committed_value(m, "updated_at", now)
        updates.append({"m_id": m.id, **{f"m_{attr}": getattr(m, attr) for attr in _PING_TIMES}})
    if is_postgres(session):
        params = {f"p_{c}": [r[c] for r in rows] for c in _PING_COLUMNS}
        params.update({key: [u[key] for u in updates] for key in updates[0]})
        session.execute(_PG_WRITE_PINGS, {"now": now, **params})
        return
    session.execute(insert(Ping.__table__), rows)
    table = Monitor.__table__
    session.execute(update(table).where(table.c.id == bindparam("m_id")).values(
        updated_at=now, **{attr: bindparam(f"m_{attr}") for attr in _PING_TIMES}), updates)


def _apply_ping(session: Session, m: Monitor, *, signal: PingSignal, exit_status: int | None, body: str | None,
                now: dt.datetime) -> None:
    # Ping times are written by _write_pings in one statement for the batch: set them on the
    # object as stored values, so an unchanged monitor never becomes dirty for the ORM.
    set_committed_value(m, "last_start_at" if signal == PingSignal.START else "last_ping_at", now)
    if not m.enabled:
        return
    if signal == PingSignal.SUCCESS:
        _set_status(session, m, Status.UP, at=now, error=None)
    elif signal == PingSignal.FAIL:
        reason = f"the job reported failure (exit status {exit_status})" if exit_status is not None else "the job reported failure"
        if body:
            reason += f": {body.strip()[:200]}"
        if m.status == Status.DOWN.value:
            m.last_error = reason
        _set_status(session, m, Status.DOWN, at=now, error=reason)


def check_heartbeats(session: Session, *, now: dt.datetime | None = None) -> int:
    """Take down every heartbeat whose deadline passed without a ping. Returns how many. Does not commit."""
    now = now or clock.utcnow()
    query = select(Monitor).where(
        Monitor.kind == "heartbeat", Monitor.enabled.is_(True), Monitor.deadline_at <= now,
        Monitor.status != Status.DOWN.value,
    ).order_by(Monitor.id)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    count = 0
    for m in session.execute(query).scalars():
        spec = _hb_spec(m)
        last = f"{m.last_ping_at:%Y-%m-%d %H:%M:%S} UTC" if m.last_ping_at else "never"
        expected = m.deadline_at - spec.grace
        error = (f"no ping since {last}; one was expected by {expected:%Y-%m-%d %H:%M:%S} UTC "
                 f"(grace {spec.grace} ended {m.deadline_at:%H:%M:%S})")
        if m.last_start_at and (m.last_ping_at is None or m.last_start_at > m.last_ping_at):
            error = f"the run started at {m.last_start_at:%Y-%m-%d %H:%M:%S} UTC has not reported success within the grace time {spec.grace}"
        _set_status(session, m, Status.DOWN, at=m.deadline_at, error=error)
        count += 1
    session.flush()
    return count


def list_pings(session: Session, *, name: str, limit: int = 50) -> list[dict]:
    m = _get(session, name)
    rows = session.execute(select(Ping).where(Ping.monitor_id == m.id).order_by(Ping.at.desc(), Ping.id.desc()).limit(limit)).scalars()
    return [{"at": p.at, "signal": p.signal, "exit_status": p.exit_status, "client": p.client, "body": p.body} for p in rows]


# ---------------------------------------------------------------- history


def list_checks(session: Session, *, name: str, limit: int = 100, failures_only: bool = False,
                since: dt.datetime | None = None) -> list[CheckRead]:
    m = _get(session, name)
    query = select(Check).where(Check.monitor_id == m.id)
    if failures_only:
        query = query.where(Check.ok.is_(False))
    if since is not None:
        query = query.where(Check.checked_at >= since)
    rows = session.execute(query.order_by(Check.checked_at.desc(), Check.id.desc()).limit(limit)).scalars()
    return [CheckRead.model_validate(c) for c in rows]


UPTIME_WINDOWS = (("24h", dt.timedelta(hours=24)), ("7d", dt.timedelta(days=7)), ("30d", dt.timedelta(days=30)))


def uptime(session: Session, *, name: str, retention: store.Retention | None = None,
           now: dt.datetime | None = None) -> list[UptimeRead]:
    """Uptime over 24 h, 7 d and 30 d. Probes: share of successful checks (from the metrics
    store, so 30 days reads roll-ups). Heartbeats: share of time not down."""
    from watchkeeper.monitoring import _rules

    m = _get(session, name)
    now = now or clock.utcnow()
    out = []
    for label, window in UPTIME_WINDOWS:
        if m.kind == "heartbeat":
            down = _downtime(session, m, now - window, now)
            covered = min(window, now - m.created_at) if m.created_at else window
            pct = 100.0 * (1 - down / covered) if covered.total_seconds() > 0 else None
            out.append(UptimeRead(window=label, checks=0, up_checks=0, uptime_percent=pct, avg_latency_ms=None))
            continue
        sel = _rules.Selector("probe_success", (_rules.Matcher("monitor", "=", m.name),))
        q_count = _rules.Query("count", sel, window.total_seconds())
        q_sum = _rules.Query("sum", sel, window.total_seconds())
        lat = _rules.Query("avg", _rules.Selector("probe_duration_seconds", sel.matchers), window.total_seconds())
        total = store.evaluate(session, q_count, at=now, retention=retention).get((), 0.0)
        good = store.evaluate(session, q_sum, at=now, retention=retention).get((), 0.0)
        avg = store.evaluate(session, lat, at=now, retention=retention).get(())
        out.append(UptimeRead(
            window=label, checks=int(total), up_checks=int(good),
            uptime_percent=round(100.0 * good / total, 4) if total else None,
            avg_latency_ms=round(avg * 1000, 2) if avg is not None else None,
        ))
    return out


def _downtime(session: Session, m: Monitor, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    from watchkeeper.monitoring.models import Signal

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


def monitors_for_service(session: Session, *, service: str) -> list[MonitorRead]:
    """Every monitor attached to a service (for readiness evidence and the service page)."""
    rows = list(session.execute(select(Monitor).where(Monitor.service == service).order_by(Monitor.name)).scalars())
    locs = _locations(session, [m.id for m in rows])
    return [_read(m, locs[m.id]) for m in rows]


def counts_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Monitor.status, func.count()).group_by(Monitor.status)).all())


def recent_results(session: Session, *, names: list[str], points: int = 30) -> dict[str, list[tuple[bool, float | None]]]:
    """The last `points` results of each monitor, oldest first (for sparklines). One query."""
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


def uptime_since(session: Session, *, names: list[str], since: dt.datetime) -> dict[str, float | None]:
    """Share of successful checks per monitor since `since` (percent), from stored results. One query."""
    if not names:
        return {}
    rows = session.execute(
        select(Monitor.name, func.count(Check.id), func.sum(case((Check.ok.is_(True), 1), else_=0)))
        .join(Check, Check.monitor_id == Monitor.id)
        .where(Monitor.name.in_(names), Check.checked_at >= since)
        .group_by(Monitor.name)
    ).all()
    return {name: (100.0 * (up or 0) / total if total else None) for name, total, up in rows}
