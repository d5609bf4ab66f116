"""SLOs: create, change, delete, and read with their attainment, error budget and burn rates.
Accounting and burn-rate alerts run in evaluation.py; the monthly SLA report is sla.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.clock import from_ms
from watchkeeper.errors import InvalidInput
from watchkeeper.monitoring.errors import SloExists, SloNotFound
from watchkeeper.monitoring.metrics import store
from watchkeeper.monitoring.models import Monitor, Slo, SloAlert
from watchkeeper.monitoring.scope import require_in_scope, visible
from watchkeeper.monitoring.slos import _burn
from watchkeeper.monitoring.slos.evaluation import GOOD, TOTAL, drop_events, events_selector, resolve_all, window_sums
from watchkeeper.monitoring.slos.schemas import BurnRead, SloCreate, SloRead, SloStatus, SloUpdate


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


def _readable(session: Session, actor: Actor, name: str) -> Slo:
    slo = _get(session, name)
    require_in_scope(session, actor, "slo.read", slo.service)
    return slo


def get_slo(session: Session, *, name: str, actor: Actor) -> SloRead:
    """Raises SloNotFound; PermissionDenied unless the actor may read the SLO's service."""
    return _read(_readable(session, actor, name))


def list_slos(session: Session, *, actor: Actor, service: str | None = None) -> list[SloRead]:
    """SLOs of the services the actor may see, by name."""
    require(actor, "slo.read")
    query = select(Slo).order_by(Slo.name)
    if service:
        query = query.where(Slo.service == service)
    sees = visible(session, actor, "slo.read")
    return [_read(s) for s in session.execute(query).scalars() if sees(s.service)]


def _check_monitor(session: Session, data: SloCreate) -> None:
    if data.monitor and not session.execute(select(Monitor.id).where(Monitor.name == data.monitor)).first():
        raise InvalidInput(f"SLO '{data.name}' reads monitor '{data.monitor}', which does not exist; create the monitor first",
                           field="monitor")


def create_slo(session: Session, *, data: SloCreate, actor: Actor, managed_by: str = "runtime") -> SloRead:
    """Create an SLO. Raises Conflict, InvalidInput. Audited. Does not commit."""
    require_in_scope(session, actor, "slo.create", data.service)
    if session.execute(select(Slo.id).where(Slo.name == data.name)).first():
        raise SloExists(f"SLO '{data.name}' already exists; update it instead", field="name")
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
    require_in_scope(session, actor, "slo.update", slo.service)
    before = _snapshot(_read(slo))
    fields = data.model_fields_set
    if "service" in fields and data.service != slo.service:
        require_in_scope(session, actor, "slo.update", data.service)
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
            resolve_all(session, slo)
    session.flush()
    after = _read(slo)
    changes.record_update(session, actor=actor, action="slo.update", target=f"slo:{name}",
                          before=before, after=_snapshot(after))
    return after


def replace_slo(session: Session, *, data: SloCreate, actor: Actor) -> SloRead:
    """Config apply: same name, new definition. When the source or kind changes, the events are
    re-derived from the new source as far back as it can be read; older history is kept."""
    slo = _get(session, data.name)
    require_in_scope(session, actor, "slo.update", slo.service)
    _check_monitor(session, data)
    before = _snapshot(_read(slo))
    if data.source_dict() != slo.source or data.kind != slo.kind:
        # a new source: its events replace the old source's from the back-fill start on (account())
        slo.evaluated_until_ms = None
    slo.service, slo.kind, slo.target = data.service, data.kind, data.target
    slo.window_seconds, slo.source, slo.description = int(data.window.total_seconds()), data.source_dict(), data.description
    if slo.alerting and not data.alerting:
        resolve_all(session, slo)
    slo.alerting = data.alerting
    session.flush()
    after = _read(slo)
    changes.record_update(session, actor=actor, action="slo.update", target=f"slo:{slo.name}",
                          before=before, after=_snapshot(after))
    return after


def delete_slo(session: Session, *, name: str, actor: Actor) -> None:
    slo = _get(session, name)
    require_in_scope(session, actor, "slo.delete", slo.service)
    before = _snapshot(_read(slo))
    resolve_all(session, slo)
    drop_events(session, name)  # an SLO created later under this name starts from nothing
    session.delete(slo)
    session.flush()
    audit.record(session, actor=actor, action="slo.delete", target=f"slo:{name}", before=before)


def adopt(session: Session, *, name: str, actor: Actor) -> None:
    """Hand an SLO made at run time over to the config file. Audited."""
    require(actor, "config.apply")
    changes.adopt(session, _get(session, name), kind="slo", name=name, actor=actor)


def status(session: Session, *, name: str, actor: Actor, now: dt.datetime | None = None,
           retention: store.Retention | None = None) -> SloStatus:
    """Attainment, budget left and burn rates of one SLO (as of the last counted minute)."""
    slo = _readable(session, actor, name)
    retention = retention or store.Retention()
    at = from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else (now or clock.utcnow())
    window = dt.timedelta(seconds=slo.window_seconds)
    sums = window_sums(session, slo.name, list(_burn.WINDOWS) + [window], at=at, retention=retention)
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


def burn_history(session: Session, *, name: str, actor: Actor, hours: int = 24,
                 retention: store.Retention | None = None) -> dict:
    """Per-minute error ratio and the remaining budget over the last `hours` (for the SLO chart)."""
    slo = _readable(session, actor, name)
    end = from_ms(slo.evaluated_until_ms) if slo.evaluated_until_ms else clock.utcnow()
    start = end - dt.timedelta(hours=hours)
    g = store.read_series(session, events_selector(GOOD, name), start=start, end=end, retention=retention)
    t = store.read_series(session, events_selector(TOTAL, name), start=start, end=end, retention=retention)
    gp = dict(g[0].points) if g else {}
    budget = 1 - slo.target / 100
    points = []
    for ts, total in (t[0].points if t else []):
        good = gp.get(ts, 0.0)
        ratio = (total - good) / total if total else 0.0
        points.append((ts, ratio / budget if budget else 0.0))
    return {"burn": points, "target": slo.target}

