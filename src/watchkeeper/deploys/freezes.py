"""Change freezes, change windows and per-service deploy policies (the `deploys:` section of
watchkeeper.yaml, or the API): declare, change, remove, list by scope — and the questions the
gate and the worker ask: which freezes are in force for a service now, which windows apply,
what is the service's deploy policy.

Permissions: deploy.read; deploy.freeze (freezes and windows: on the service, on the team, or
global — a global freeze needs a global grant); deploy.configure (a service's policy). Every
change is audited. Hooks name secrets by environment variable only."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import ServiceRead
from watchkeeper.deploys import _occurrences
from watchkeeper.deploys.models import Freeze, Policy
from watchkeeper.deploys.schemas import (
    FreezeCreate,
    FreezeRead,
    PolicyRead,
    ServiceDeployConfig,
)
from watchkeeper.errors import Conflict, InvalidInput, NotFound

# ---------------------------------------------------------------------------- freezes and windows


def _occurrence(f: Freeze, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    return _occurrences.active(starts_at=clock.ensure_aware(f.starts_at) if f.starts_at else None, cron=f.cron, tz=f.timezone,
                               until=clock.ensure_aware(f.until) if f.until else None,
                               duration=dt.timedelta(seconds=f.duration_seconds), at=at)


def next_start(f: Freeze | FreezeRead, after: dt.datetime) -> dt.datetime | None:
    return _occurrences.next_start(starts_at=clock.ensure_aware(f.starts_at) if f.starts_at else None, cron=f.cron,
                                   tz=f.timezone, until=clock.ensure_aware(f.until) if f.until else None, after=after)


def occurrences(f: Freeze | FreezeRead, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every occurrence overlapping [start, end) (for the change calendar), at most 1000."""
    duration = dt.timedelta(seconds=f.duration_seconds)
    out = []
    for s in _occurrences.starts(starts_at=clock.ensure_aware(f.starts_at) if f.starts_at else None, cron=f.cron, tz=f.timezone,
                                 until=clock.ensure_aware(f.until) if f.until else None, after=start - duration, before=end):
        if s + duration > start:
            out.append((s, s + duration))
        if len(out) >= 1000:
            break
    return out


def _read(f: Freeze, now: dt.datetime) -> FreezeRead:
    read = FreezeRead.model_validate(f)
    occ = _occurrence(f, now)
    read.active_now, read.current_end = occ is not None, occ[1] if occ else None
    read.next_start = next_start(f, now)
    return read


def _scope_of(f: Freeze | FreezeCreate) -> tuple[str | None, str | None]:
    return f.team, f.service


def _require_freeze(session: Session, actor: Actor, permission: str, data: Freeze | FreezeCreate) -> None:
    team, service = _scope_of(data)
    if service is not None:
        svc = catalog.lookup_service(session, name=service)
        require(actor, permission, team=svc.team, service=svc.name)
    elif team is not None:
        require(actor, permission, team=team)
    else:
        require(actor, permission)


def _get_freeze(session: Session, name: str) -> Freeze:
    f = session.execute(select(Freeze).where(Freeze.name == name)).scalar_one_or_none()
    if f is None:
        raise NotFound(f"no freeze or change window named '{name[:100]}'; `watchkeeper deploy freezes` lists them", code="deploy.freeze_not_found")
    return f


def as_create(f: Freeze | FreezeRead) -> FreezeCreate:
    return FreezeCreate(name=f.name, kind=f.kind, service=f.service, team=f.team, starts_at=f.starts_at, cron=f.cron,
                        timezone=f.timezone, duration=dt.timedelta(seconds=f.duration_seconds), until=f.until, reason=f.reason)


def _assign(f: Freeze, data: FreezeCreate) -> None:
    f.kind, f.service, f.team = data.kind, data.service, data.team
    f.starts_at, f.cron, f.timezone, f.until, f.reason = data.starts_at, data.cron, data.timezone, data.until, data.reason
    f.duration_seconds = int(data.duration.total_seconds())


def _check_refs(session: Session, data: FreezeCreate) -> None:
    if data.team is not None:
        teams.team_row(session, data.team)


def list_freezes(session: Session, *, actor: Actor, service: str | None = None, kind: str | None = None,
                 include_past: bool = True) -> list[FreezeRead]:
    """Freezes and windows the actor may see: global ones, and those of teams and services in scope.
    With `service`: the ones that apply to it (its own, its team's, the global ones)."""
    require(actor, "deploy.read")
    if kind is not None and kind not in ("freeze", "window"):
        raise InvalidInput(f"kind must be freeze or window, not {kind[:20]!r}", field="kind")
    now = clock.utcnow()
    team_of: dict[str, str | None] = {}
    svc = catalog.lookup_service(session, name=service) if service else None
    out = []
    for f in session.execute(select(Freeze).order_by(Freeze.name)).scalars():
        if kind and f.kind != kind:
            continue
        if svc is not None and not applies(f, svc):
            continue
        if f.service is not None:
            if f.service not in team_of:
                found = catalog.find_service(session, name=f.service)
                team_of[f.service] = found.team if found else None
            visible = actor.can("deploy.read", team=team_of[f.service], service=f.service)
        elif f.team is not None:
            visible = actor.can("deploy.read", team=f.team)
        else:
            visible = True
        if not visible:
            continue
        read = _read(f, now)
        if include_past or read.active_now or read.next_start is not None:
            out.append(read)
    return out


def create_freeze(session: Session, *, data: FreezeCreate, actor: Actor, managed_by: str = "runtime") -> FreezeRead:
    """Declare a freeze or change window. Permission deploy.freeze on its scope. Audited."""
    _require_freeze(session, actor, "deploy.freeze", data)
    _check_refs(session, data)
    if session.execute(select(Freeze.id).where(Freeze.name == data.name)).first():
        raise Conflict(f"a freeze or window named '{data.name}' already exists; pick another name", code="deploy.freeze_exists", field="name")
    f = Freeze(name=data.name, managed_by=managed_by, created_by=actor.name, created_at=clock.utcnow())
    _assign(f, data)
    session.add(f)
    session.flush()
    audit.record(session, actor=actor, action=f"deploy.{data.kind}_create", target=f"freeze:{data.name}",
                 after=data.model_dump(mode="json", exclude_none=True))
    return _read(f, clock.utcnow())


def update_freeze(session: Session, *, data: FreezeCreate, actor: Actor) -> FreezeRead:
    """Replace a freeze's definition. Permission deploy.freeze on its old and new scope. Audited."""
    f = _get_freeze(session, data.name)
    _require_freeze(session, actor, "deploy.freeze", f)
    _require_freeze(session, actor, "deploy.freeze", data)
    _check_refs(session, data)
    before = as_create(f).model_dump(mode="json", exclude_none=True)
    _assign(f, data)
    session.flush()
    b, a = audit.diff(before, data.model_dump(mode="json", exclude_none=True))
    audit.record(session, actor=actor, action=f"deploy.{data.kind}_update", target=f"freeze:{data.name}", before=b, after=a)
    return _read(f, clock.utcnow())


def delete_freeze(session: Session, *, name: str, actor: Actor) -> None:
    """Remove a freeze or change window. Permission deploy.freeze on its scope. Audited."""
    f = _get_freeze(session, name)
    _require_freeze(session, actor, "deploy.freeze", f)
    before = as_create(f).model_dump(mode="json", exclude_none=True)
    session.delete(f)
    session.flush()
    audit.record(session, actor=actor, action=f"deploy.{f.kind}_delete", target=f"freeze:{name}", before=before)


def applies(f: Freeze | FreezeRead, svc: ServiceRead) -> bool:
    if f.service is not None:
        return f.service == svc.name
    if f.team is not None:
        return f.team == svc.team
    return True


@dataclasses.dataclass(frozen=True)
class InForce:
    name: str
    kind: str
    scope: str
    start: dt.datetime
    end: dt.datetime
    reason: str | None


def _scope_text(f: Freeze) -> str:
    return f"service {f.service}" if f.service else f"team {f.team}" if f.team else "global"


def in_force(session: Session, svc: ServiceRead, at: dt.datetime) -> tuple[list[InForce], list[Freeze], list[InForce]]:
    """For the gate: freezes in force for `svc` at `at`, the change windows that apply to it,
    and those of them open at `at`. Internal (the gate checks deploy.check)."""
    frozen, windows, open_windows = [], [], []
    for f in session.execute(select(Freeze).order_by(Freeze.name)).scalars():
        if not applies(f, svc):
            continue
        occ = _occurrence(f, at)
        if f.kind == "window":
            windows.append(f)
        if occ is None:
            continue
        item = InForce(f.name, f.kind, _scope_text(f), occ[0], occ[1], f.reason)
        (open_windows if f.kind == "window" else frozen).append(item)
    return frozen, windows, open_windows


# ---------------------------------------------------------------------------- per-service policies


def policy_of(session: Session, service: str) -> ServiceDeployConfig | None:
    """The service's deploy policy, or None. Internal (the gate and the worker read it)."""
    row = session.execute(select(Policy).where(Policy.service == service)).scalar_one_or_none()
    return ServiceDeployConfig.model_validate(row.config) if row is not None else None


def _policy_read(row: Policy) -> PolicyRead:
    return PolicyRead(service=row.service, config=row.config, managed_by=row.managed_by)


def list_policies(session: Session, *, actor: Actor) -> list[PolicyRead]:
    """Deploy policies of the services the actor may read."""
    require(actor, "deploy.read")
    out = []
    for row in session.execute(select(Policy).order_by(Policy.service)).scalars():
        svc = catalog.find_service(session, name=row.service)
        if actor.can("deploy.read", team=svc.team if svc else None, service=row.service):
            out.append(_policy_read(row))
    return out


def get_policy(session: Session, *, service: str, actor: Actor) -> PolicyRead:
    svc = catalog.lookup_service(session, name=service)
    require(actor, "deploy.read", team=svc.team, service=svc.name)
    row = session.execute(select(Policy).where(Policy.service == service)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"service '{service[:100]}' has no deploy policy; declare one under `deploys.services`", code="deploy.no_policy")
    return _policy_read(row)


def set_policy(session: Session, *, data: ServiceDeployConfig, actor: Actor, managed_by: str = "runtime") -> PolicyRead:
    """Create or replace a service's deploy policy. Permission deploy.configure. Audited."""
    svc = catalog.lookup_service(session, name=data.service)
    require(actor, "deploy.configure", team=svc.team, service=svc.name)
    row = session.execute(select(Policy).where(Policy.service == data.service)).scalar_one_or_none()
    config = data.model_dump(mode="json", exclude_none=True)
    before = row.config if row is not None else None
    if row is None:
        row = Policy(service=data.service, config=config, managed_by=managed_by, created_by=actor.name, created_at=clock.utcnow())
        session.add(row)
    else:
        row.config = config
    session.flush()
    b, a = audit.diff(before, config)
    audit.record(session, actor=actor, action="deploy.policy_set", target=f"service:{data.service}", before=b, after=a)
    return _policy_read(row)


def delete_policy(session: Session, *, service: str, actor: Actor) -> None:
    """Remove a service's deploy policy. Permission deploy.configure. Audited."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "deploy.configure", team=svc.team, service=svc.name)
    row = session.execute(select(Policy).where(Policy.service == service)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"service '{service[:100]}' has no deploy policy", code="deploy.no_policy")
    before = row.config
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="deploy.policy_delete", target=f"service:{service}", before=before)


def in_force_at(f: Freeze, at: dt.datetime) -> bool:
    """Whether an occurrence of the freeze or window covers `at` (pure)."""
    return _occurrence(f, at) is not None
