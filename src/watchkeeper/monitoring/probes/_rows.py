"""Monitor rows as the probes room's modules share them: fetch one by name, its location rows,
and the MonitorRead built from both."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.db.engine import is_postgres
from watchkeeper.monitoring.errors import MonitorNotFound
from watchkeeper.monitoring.models import Location, Monitor
from watchkeeper.monitoring.probes.schemas import LocationRead, MonitorRead
from watchkeeper.validation import redact_headers, redact_url

ANY_LOCATION = "*"  # a location stream any worker may check


def get(session: Session, name: str, *, lock: bool = False) -> Monitor:
    """The monitor row; locked FOR UPDATE on PostgreSQL with `lock`. Raises MonitorNotFound."""
    query = select(Monitor).where(Monitor.name == name)
    if lock and is_postgres(session):
        query = query.with_for_update()
    monitor = session.execute(query).scalar_one_or_none()
    if monitor is None:
        raise MonitorNotFound(f"no monitor named '{name}'; `watchkeeper monitor list` shows them")
    return monitor


def locations(session: Session, monitor_ids: list[int]) -> dict[int, list[Location]]:
    """Location rows per monitor id, by location name."""
    out: dict[int, list[Location]] = defaultdict(list)
    for i in range(0, len(monitor_ids), 500):
        for loc in session.execute(
            select(Location).where(Location.monitor_id.in_(monitor_ids[i : i + 500])).order_by(Location.location)
        ).scalars():
            out[loc.monitor_id].append(loc)
    return out


def to_read(m: Monitor, locs: list[Location], *, reveal: bool = False) -> MonitorRead:
    """The monitor as readers see it: credential header values are REDACTED unless `reveal`
    (only for running the check and for config-as-code's own comparison)."""
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
    if not reveal and data[m.kind].get("headers"):
        data[m.kind]["headers"] = redact_headers(data[m.kind]["headers"])
    if not reveal and data[m.kind].get("url"):
        data[m.kind]["url"] = redact_url(data[m.kind]["url"])
    return MonitorRead(**data)

