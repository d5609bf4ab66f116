"""A monitor's up/down transitions and warnings, published as signals (firing/resolved) in the
caller's transaction."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.signals import service as signals
from watchkeeper.monitoring.models import Monitor
from watchkeeper.monitoring.probes._state import Status

log = logging.getLogger(__name__)


def _alertname(m: Monitor) -> str:
    return "HeartbeatMissed" if m.kind == "heartbeat" else "MonitorDown"


def publish(session: Session, m: Monitor, *, firing: bool, reason: str | None = None,
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


def set_warning(session: Session, m: Monitor, text: str | None) -> None:
    """Raise or clear a monitor's warning (e.g. a certificate close to expiry) as its own signal."""
    firing = text is not None
    signals.emit(
        session, source="probe", name=m.name, firing=firing, alertname="MonitorWarning",
        labels={**(m.labels or {}), "monitor": m.name, "kind": m.kind},
        annotations={"summary": text or f"warning on '{m.name}' cleared", "runbook_url": m.runbook_url or ""},
        starts_at=clock.utcnow(), service=m.service, severity="warning",
    )
    m.warning = text


def set_status(session: Session, m: Monitor, new: Status, *, at: dt.datetime, error: str | None,
                details: dict | None = None) -> None:
    old, down_since = Status(m.status), m.status_since
    if new == old:
        return
    m.status, m.status_since = new.value, at
    if new == Status.DOWN:
        m.last_error = error
        publish(session, m, firing=True, details=details)
    elif old == Status.DOWN:
        publish(session, m, firing=False, details=details, starts_at=down_since)
    log.info("monitor status changed", extra={"monitor": m.name, "from": old.value, "to": new.value})
