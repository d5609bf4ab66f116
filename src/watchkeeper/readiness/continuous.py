"""Continuous re-evaluation: record what changed since the last evaluation (each item's word
and its history, each service's readiness) and raise a ReadinessRegression signal when a PROD
service falls out of readiness. The worker runs `refresh` periodically and soon after a
service's evidence changes (jobs.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.schemas import ServiceRead
from watchkeeper.catalog.stages import ORDER, Stage
from watchkeeper.signals import service as signals
from watchkeeper.readiness import evaluation
from watchkeeper.readiness.models import ItemHistory, ItemState, ServiceState
from watchkeeper.readiness.policies import tuning_of
from watchkeeper.readiness.schemas import HistoryEntry, ItemResult, ReadinessReport, RefreshSummary

REGRESSION_ALERT = "ReadinessRegression"


def _next(stage: Stage) -> Stage | None:
    return ORDER[stage.rank + 1] if stage.rank + 1 < len(ORDER) else None


def refresh(session: Session, *, actor: Actor, services: list[str] | None = None, base_url: str = "") -> RefreshSummary:
    """Re-evaluate services (default: all) and record what changed.

    For each service: the items of its current and next stage are recorded (a history row
    whenever an item's word changes); a service forced past the gate that now passes loses
    its forced mark; a PROD service that falls out of readiness raises a ReadinessRegression
    signal (signals.emit: a history row and SignalChanged, source "readiness"), resolved when it recovers or leaves PROD.
    Audited when a person (not the worker's schedule) asks for it; unforcing is audited by the
    catalog. Does not commit.
    """
    require(actor, "readiness.refresh")
    rows = catalog.list_services(session, actor=actor)
    if services is not None:
        wanted_names = set(services)
        rows = [s for s in rows if s.name in wanted_names]
    now = clock.utcnow()
    tuning = tuning_of(session)
    stages = {s.name: [s.stage] + ([_next(s.stage)] if _next(s.stage) else []) for s in rows}
    inputs = evaluation.gather(session, rows, evaluation.wanted_checks(rows, stages, tuning), now=now, tuning=tuning)
    summary = RefreshSummary(evaluated=len(rows), changed_items=0, regressions_opened=[], regressions_resolved=[], unforced=[])
    service_states: dict[int, ServiceState] = {}
    item_states: dict[tuple[int, str], ItemState] = {}
    ids = [s.id for s in rows]
    for chunk in range(0, len(ids), 900):
        part = ids[chunk:chunk + 900]
        service_states.update({st.service_id: st for st in session.execute(
            select(ServiceState).where(ServiceState.service_id.in_(part))).scalars()})
        item_states.update({(st.service_id, st.check_id): st for st in session.execute(
            select(ItemState).where(ItemState.service_id.in_(part))).scalars()})
    for svc in rows:
        items: dict[str, ItemResult] = {}
        for stage in stages[svc.name]:
            for item in evaluation.report(svc, stage, inputs).items:
                items.setdefault(item.check, item)
        summary.changed_items += _record_items(session, svc, items.values(), item_states, now)
        current = evaluation.report(svc, svc.stage, inputs)
        _track_service(session, svc, current, service_states.get(svc.id), now=now, summary=summary, base_url=base_url)
        if svc.forced and current.ready:
            catalog.clear_forced(session, name=svc.name, actor=actor)
            summary.unforced.append(svc.name)
    session.flush()
    if actor.source != "worker":  # a person asked for it; the worker's schedule is not news
        audit.record(session, actor=actor, action="readiness.refresh", target="readiness:" + (",".join(services) if services else "all"),
                     after={"evaluated": summary.evaluated, "changed_items": summary.changed_items})
    return summary


def _record_items(session: Session, svc: ServiceRead, items: Iterable[ItemResult],
                  states: dict[tuple[int, str], ItemState], now: dt.datetime) -> int:
    changed = 0
    for item in items:
        state = states.get((svc.id, item.check))
        if state is None:
            state = ItemState(service_id=svc.id, check_id=item.check, word=item.word, reason=item.reason, since=now)
            session.add(state)
            states[(svc.id, item.check)] = state
        elif state.word != item.word:
            state.word, state.reason, state.since = item.word, item.reason, now
        else:
            if state.reason != item.reason:
                state.reason = item.reason
            continue
        session.add(ItemHistory(service_id=svc.id, check_id=item.check, word=item.word, reason=item.reason, at=now))
        changed += 1
    return changed


def _track_service(session: Session, svc: ServiceRead, report: ReadinessReport, state: ServiceState | None, *,
                   now: dt.datetime, summary: RefreshSummary, base_url: str) -> None:
    blocking = [i.check for i in report.items if i.blocking]
    in_prod = svc.stage is Stage.PROD and not svc.forced
    firing = state is not None and state.regression_since is not None
    # A regression needs a baseline: the service was ready before, or has just entered PROD
    # (through the gate, so it was ready then). A service declared at PROD and never ready
    # shows red on the scorecard but does not page.
    fell = (in_prod and not report.ready and state is not None
            and (state.ready or Stage(state.stage) is not Stage.PROD))
    if state is None:
        state = ServiceState(service_id=svc.id, stage=svc.stage.value, ready=report.ready, blocking=blocking, evaluated_at=now)
        session.add(state)
    if fell and not firing:
        state.regression_since = now
        _signal(session, svc, report, firing=True, since=now, now=now, base_url=base_url)
        summary.regressions_opened.append(svc.name)
    elif firing and (report.ready or not in_prod):
        _signal(session, svc, report, firing=False, since=state.regression_since, now=now, base_url=base_url)
        state.regression_since = None
        summary.regressions_resolved.append(svc.name)
    state.stage, state.ready, state.blocking, state.evaluated_at = svc.stage.value, report.ready, blocking, now


def _signal(session: Session, svc: ServiceRead, report: ReadinessReport, *, firing: bool, since: dt.datetime,
            now: dt.datetime, base_url: str) -> None:
    failing = [i for i in report.items if i.blocking]
    if firing:
        summary = f"{svc.name} fell out of PROD readiness: {len(failing)} required item(s) fail"
        description = "; ".join(f"{i.check}: {i.reason}" for i in failing)[:2000]
    else:
        summary = f"{svc.name} is PROD-ready again" if report.ready else f"{svc.name} left PROD; readiness regression closed"
        description = summary
    link = f"{base_url.rstrip('/')}/services/{svc.name}/readiness" if base_url else f"/services/{svc.name}/readiness"
    signals.emit(
        session, source="readiness", name=REGRESSION_ALERT, firing=firing, alertname=REGRESSION_ALERT,
        labels={"source": "readiness"}, annotations={"summary": summary, "description": description},
        starts_at=since, service=svc.name, severity="critical" if svc.tier == 1 else "warning", generator_url=link,
        details={"failing": [i.check for i in failing], "stage": svc.stage.value},
    )


def history(session: Session, *, service: str, actor: Actor, check: str | None = None, limit: int = 200) -> list[HistoryEntry]:
    """Recorded changes of a service's items, newest first."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "readiness.read", team=svc.team, service=service)
    query = select(ItemHistory).where(ItemHistory.service_id == svc.id).order_by(ItemHistory.at.desc(), ItemHistory.id.desc())
    if check:
        query = query.where(ItemHistory.check_id == check)
    return [HistoryEntry(check=h.check_id, word=h.word, reason=h.reason, at=h.at) for h in session.execute(query.limit(limit)).scalars()]


def regression_state(session: Session, *, service: str, actor: Actor) -> dt.datetime | None:
    """Since when a PROD regression of `service` is open, or None. Raises ServiceNotFound,
    PermissionDenied."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "readiness.read", team=svc.team, service=service)
    row = session.execute(select(ServiceState).where(ServiceState.service_id == svc.id)).scalar_one_or_none()
    return row.regression_since if row else None
