"""Firing/resolved transitions of internal signals: one history row and one SignalChanged event,
in the caller's transaction. Any domain raises an alert this way (monitoring's probes,
heartbeats, rules and SLOs; readiness regressions; later backups, on-call, deploys) without
importing the alert pipeline, which subscribes to SignalChanged; the history row lets the UI,
the API and the tests see every transition even when no subscriber is wired."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.auth.service import Actor, require
from watchkeeper.signals.events import SignalChanged
from watchkeeper.signals.models import Signal
from watchkeeper.signals.schemas import SignalFilter, SignalRead

log = logging.getLogger(__name__)


def emit(
    session: Session,
    *,
    source: str,
    name: str,
    firing: bool,
    alertname: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    starts_at: dt.datetime,
    service: str | None,
    severity: str,
    details: dict[str, Any] | None = None,
    generator_url: str | None = None,
) -> SignalChanged:
    """Record and publish one transition. Does not commit."""
    now = clock.utcnow()
    full = {**{k: str(v) for k, v in labels.items()}, "alertname": alertname}
    if service:
        full["service"] = service
    full.setdefault("severity", severity)
    ends_at = None if firing else now
    event = SignalChanged(
        source=source, name=name, firing=firing, labels=full, annotations={k: str(v) for k, v in annotations.items() if v},
        starts_at=starts_at, ends_at=ends_at, service=service, severity=severity, generator_url=generator_url,
        details=details or {},
    )
    session.add(Signal(
        at=now, source=source, name=name, firing=firing, service=service, severity=severity, labels=event.labels,
        annotations=event.annotations, starts_at=starts_at, ends_at=ends_at, details=details or {},
    ))
    log.info("signal firing" if firing else "signal resolved",
             extra={"source": source, "signal": name, "alertname": alertname, "service": service})
    events.publish(session, event)
    return event


def list_signals(session: Session, *, filter: SignalFilter, actor: Actor) -> list[SignalRead]:
    """Firing/resolved transitions, newest first, for an actor who may read signals. Raises
    PermissionDenied."""
    require(actor, "signal.read")
    query = select(Signal).order_by(Signal.at.desc(), Signal.id.desc()).limit(filter.limit)
    if filter.source:
        query = query.where(Signal.source == filter.source)
    if filter.name:
        query = query.where(Signal.name == filter.name)
    if filter.service:
        query = query.where(Signal.service == filter.service)
    return [SignalRead.model_validate(s) for s in session.execute(query).scalars()]
