"""Monitors: create, change, pause, delete, read, and run one check on demand. The runner's
results are recorded by results.py, heartbeat pings by heartbeats.py; history.py reads uptime
and past checks.

Every mutating function checks permission, writes one audit event and flushes; the caller
owns the transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, egress
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.clock import to_ms
from watchkeeper.errors import InvalidInput
from watchkeeper.validation import keep_redacted, keep_redacted_url, secrets_changed, url_secret_changed
from watchkeeper.monitoring.errors import MonitorExists
from watchkeeper.monitoring.models import Location, Monitor
from watchkeeper.monitoring.probes import _rows, _schedule
from watchkeeper.monitoring.probes._rows import ANY_LOCATION
from watchkeeper.monitoring.probes._state import Status
from watchkeeper.monitoring.probes._transitions import publish, set_warning
from watchkeeper.monitoring.probes.kinds import HttpClients, ProbeContext, ProbeResult, ProbeSpec, parse_spec
from watchkeeper.monitoring.probes.kinds import run as run_probe
from watchkeeper.monitoring.probes.kinds.base import no_secrets
from watchkeeper.monitoring.probes.schemas import (
    KINDS, PROBE_KINDS, MonitorCreate, MonitorFilter, MonitorRead, MonitorUpdate, ProbeOutcome, check_common,
    default_quorum,
)
from watchkeeper.monitoring.scope import require_in_scope, scope_of

_STATE_FIELDS = {"status", "status_since", "last_check_at", "last_error", "warning", "last_ping_at", "deadline_at",
                 "location_states", "created_at", "updated_at", "ping_path"}


# ---------------------------------------------------------------- reading


def get_monitor(session: Session, *, name: str, actor: Actor) -> MonitorRead:
    """The monitor as `actor` may see it (a heartbeat's ping path only for those who may change
    the monitor or ping). Needs `monitor.read` in its scope. Raises MonitorNotFound,
    PermissionDenied."""
    m = _rows.get(session, name)
    team, svc = scope_of(session, m.service) if m.service else (None, None)
    require(actor, "monitor.read", team=team, service=svc)
    return _for(actor, _read_of(session, m), team)


def _read_of(session: Session, m: Monitor) -> MonitorRead:
    return _rows.to_read(m, _rows.locations(session, [m.id])[m.id])


def _for(actor: Actor, read: MonitorRead, team: str | None) -> MonitorRead:
    """A heartbeat's ping path is its credential (anyone holding it can send /fail): shown only
    to those who may change the monitor or ping."""
    if read.ping_path is None or actor.superuser:
        return read
    if actor.can("monitor.update", team=team, service=read.service) or actor.can("heartbeat.ping", team=team, service=read.service):
        return read
    return read.model_copy(update={"ping_path": None})


def find_monitor(session: Session, *, name: str) -> MonitorRead | None:
    m = session.execute(select(Monitor).where(Monitor.name == name)).scalar_one_or_none()
    return _rows.to_read(m, _rows.locations(session, [m.id])[m.id]) if m else None


def _service_teams(session: Session) -> dict[str, str]:
    system = Actor.system("monitoring", "system")
    return {s.name: s.team for s in catalog.list_services(session, actor=system)}


def list_monitors(session: Session, *, actor: Actor, filter: MonitorFilter | None = None,
                  reveal: bool = False) -> list[MonitorRead]:
    """Monitors the actor may see, by name. Credential header values are redacted; `reveal`
    shows them to the system actor alone (config-as-code compares the file with the store)."""
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
    locs = _rows.locations(session, [m.id for m in rows])
    return [_for(actor, _rows.to_read(m, locs[m.id], reveal=reveal and actor.superuser), teams.get(m.service))
            for m in rows]


def _visible(actor: Actor, m: Monitor, teams: dict[str, str]) -> bool:
    if m.service is None:
        return actor.can("monitor.read")
    return actor.can("monitor.read", team=teams.get(m.service), service=m.service)


def monitors_for_service(session: Session, *, service: str) -> list[MonitorRead]:
    """Every monitor attached to a service (for readiness evidence and the service page)."""
    rows = list(session.execute(select(Monitor).where(Monitor.service == service).order_by(Monitor.name)).scalars())
    locs = _rows.locations(session, [m.id for m in rows])
    return [_rows.to_read(m, locs[m.id]) for m in rows]


# ---------------------------------------------------------------- writing


def _snapshot(read: MonitorRead) -> dict:
    return read.model_dump(mode="json", exclude=_STATE_FIELDS, exclude_none=True)


def _set_spec(m: Monitor, spec: ProbeSpec) -> None:
    m.kind = spec.kind
    m.spec = spec.model_dump(mode="json", by_alias=True)
    if spec.kind == "heartbeat":
        if not m.ping_token:
            m.ping_token = secrets.token_urlsafe(18)
    else:
        m.ping_token = None
        m.last_ping_at = m.last_start_at = m.deadline_at = None


def sync_locations(session: Session, m: Monitor, *, now: dt.datetime | None = None) -> None:
    """Keep one slot stream per location the monitor is checked from. New or re-timed streams
    start at the first slot after now; a disabled monitor's streams are parked (due NULL)."""
    now_ms = to_ms(now or clock.utcnow())
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
    require_in_scope(session, actor, "monitor.create", data.service)
    _check_command_permission(actor, data.kind)
    if session.execute(select(Monitor.id).where(Monitor.name == data.name)).first():
        raise MonitorExists(f"monitor '{data.name}' already exists; update it instead", field="name")
    m = Monitor(
        name=data.name, description=data.description, service=data.service,
        interval_seconds=data.interval.total_seconds(), timeout_seconds=data.timeout.total_seconds(),
        failures_before_down=data.failures_before_down, locations=list(data.locations),
        quorum=data.quorum or default_quorum(data.locations), labels=dict(data.labels), severity=data.severity,
        runbook_url=data.runbook_url, enabled=data.enabled, managed_by=managed_by,
        status=Status.PENDING.value if data.enabled else Status.PAUSED.value, status_since=clock.utcnow(),
    )
    _set_spec(m, data.spec())
    session.add(m)
    session.flush()
    sync_locations(session, m)
    read = _read_of(session, m)
    audit.record(session, actor=actor, action="monitor.create", target=f"monitor:{m.name}", after=_snapshot(read))
    return read


_SIMPLE = ("description", "failures_before_down", "labels", "severity", "runbook_url")


def update_monitor(session: Session, *, name: str, data: MonitorUpdate, actor: Actor) -> MonitorRead:
    """Change a monitor. Replacing the spec (http, tcp, ...) may change its kind. Disabling a
    down monitor resolves its alert. Audited with the diff. Does not commit."""
    m = _rows.get(session, name, lock=True)
    require_in_scope(session, actor, "monitor.update", m.service)
    fields = data.model_fields_set
    new_kinds = [k for k in KINDS if getattr(data, k) is not None]
    _check_command_permission(actor, new_kinds[0] if new_kinds else m.kind)
    if "service" in fields and data.service != m.service:
        require_in_scope(session, actor, "monitor.update", data.service)
    before = _snapshot(_rows.to_read(m, _rows.locations(session, [m.id])[m.id]))
    old_kind, old_headers, old_url = m.kind, dict((m.spec or {}).get("headers") or {}), (m.spec or {}).get("url")
    interval = data.interval if data.interval is not None else dt.timedelta(seconds=m.interval_seconds)
    timeout = data.timeout if data.timeout is not None else dt.timedelta(seconds=m.timeout_seconds)
    locations = data.locations if data.locations is not None else list(m.locations or [])
    quorum = data.quorum if data.quorum is not None else (default_quorum(locations) if data.locations is not None else m.quorum)
    try:
        check_common(interval, timeout, locations, quorum)
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
        spec = getattr(data, new_kinds[0])
        if getattr(spec, "headers", None) and new_kinds[0] == old_kind:
            spec = spec.model_copy(update={"headers": keep_redacted(spec.headers, old_headers)})
        if getattr(spec, "url", None) and new_kinds[0] == old_kind:
            spec = spec.model_copy(update={"url": keep_redacted_url(spec.url, old_url)})
        _set_spec(m, spec)
    if data.enabled is not None and data.enabled != m.enabled:
        _set_enabled(session, m, data.enabled)
    session.flush()
    sync_locations(session, m)
    after = _read_of(session, m)
    logged = _snapshot(after)
    # Credential headers are redacted in both snapshots: record that one changed, not its value.
    changed = secrets_changed(old_headers, (m.spec or {}).get("headers"), where=f"{m.kind}.headers")
    changed += url_secret_changed(old_url, (m.spec or {}).get("url"), where=f"{m.kind}.url")
    if changed:
        logged["secrets_changed"] = changed
    changes.record_update(session, actor=actor, action="monitor.update", target=f"monitor:{name}",
                          before=before, after=logged)
    return after


def _set_enabled(session: Session, m: Monitor, enabled: bool) -> None:
    now = clock.utcnow()
    m.enabled = enabled
    if not enabled:
        if m.status == Status.DOWN.value:
            publish(session, m, firing=False, reason="monitor paused")
        m.status, m.status_since = Status.PAUSED.value, now
        if m.warning:
            set_warning(session, m, None)
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
    m = _rows.get(session, name, lock=True)
    require_in_scope(session, actor, "monitor.delete", m.service)
    before = _snapshot(_rows.to_read(m, _rows.locations(session, [m.id])[m.id]))
    if m.status == Status.DOWN.value:
        publish(session, m, firing=False, reason="monitor deleted")
    if m.warning:
        set_warning(session, m, None)
    session.delete(m)
    session.flush()
    audit.record(session, actor=actor, action="monitor.delete", target=f"monitor:{name}", before=before)


def adopt(session: Session, *, name: str, actor: Actor) -> None:
    """Hand a monitor made at run time over to the config file (apply calls this). Audited."""
    require(actor, "config.apply")
    changes.adopt(session, _rows.get(session, name), kind="monitor", name=name, actor=actor)


# ---------------------------------------------------------------- one check on demand


def spec_of(m: Monitor | MonitorRead) -> ProbeSpec:
    kind = m.kind
    raw = getattr(m, kind) if isinstance(m, MonitorRead) else m.spec
    return parse_spec(kind, raw)


async def _check_async(spec: ProbeSpec, *, name: str, location: str, timeout: float,
                       policy: egress.Egress, secret: Callable[[str], str | None]) -> ProbeResult:
    clients = HttpClients(policy)
    try:
        return await run_probe(spec, ProbeContext(monitor=name, location=location, timeout=timeout, http=clients,
                                                  secret=secret))
    finally:
        await clients.aclose()


def prepare_check(session: Session, *, name: str, actor: Actor) -> MonitorRead:
    """Permission check and the monitor to run now (see run_check). Needs `monitor.check`."""
    m = _rows.get(session, name)
    require_in_scope(session, actor, "monitor.check", m.service)
    _check_command_permission(actor, m.kind)
    return _rows.to_read(m, [], reveal=True)  # the probe sends the real headers; the outcome shows none


def run_check(monitor: MonitorRead, *, location: str = "cli", now: dt.datetime | None = None,
              policy: egress.Egress = egress.DEFAULT, secret: Callable[[str], str | None] = no_secrets) -> ProbeOutcome:
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
    result = asyncio.run(_check_async(spec_of(monitor), name=name, location=location,
                                      timeout=monitor.timeout.total_seconds(), policy=policy,
                                      secret=secret))
    details = dict(result.details)
    if result.samples:
        details["samples"] = len(result.samples)
    return ProbeOutcome(
        monitor=name, kind=monitor.kind, location=location, ok=result.ok, status="up" if result.ok else "down",
        latency_ms=round(result.latency_ms, 2) if result.latency_ms is not None else None,
        error=result.error, warning=result.warning, details=details,
    )

