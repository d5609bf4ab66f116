"""Escalation policies: ordered levels targeting people or schedules, a timeout per level, a
repeat count, and the services that use the policy. Permission `oncall.manage` on the policy's
team to change one, `oncall.read` to read; every mutation is audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.oncall import service as schedules
from watchkeeper.oncall.models import Policy, Schedule
from watchkeeper.oncall.schemas import EscalationLevel, OnCallRead, PolicyCreate, PolicyRead, ResponseTarget


class PolicyNotFound(NotFound):
    code = "oncall.policy_not_found"


def _row(session: Session, name: str) -> Policy:
    row = session.execute(select(Policy).where(Policy.name == name)).scalar_one_or_none()
    if row is None:
        raise PolicyNotFound(f"no escalation policy named '{name}'; `watchkeeper oncall policy show` lists them")
    return row


def _read(row: Policy) -> PolicyRead:
    return PolicyRead(name=row.name, team=row.team, description=row.description, services=list(row.services or []),
                      levels=[EscalationLevel.model_validate(x) for x in row.levels], repeat=row.repeat,
                      response_targets=[ResponseTarget.model_validate(x) for x in row.response_targets or []],
                      managed_by=row.managed_by)


def as_create(read: PolicyRead) -> PolicyCreate:
    return PolicyCreate(name=read.name, team=read.team, description=read.description, services=read.services,
                        levels=read.levels, repeat=read.repeat, response_targets=read.response_targets)


def _check_refs(session: Session, data: PolicyCreate) -> None:
    teams.team_row(session, data.team)
    for level in data.levels:
        for target in level.targets:
            if target.kind == "person":
                schedules._known_person(session, target.name)
            elif target.kind == "team":
                teams.team_row(session, target.name)
            elif not session.execute(select(Schedule.id).where(Schedule.name == target.name)).first():
                raise InvalidInput(f"no on-call schedule named '{target.name}'; create it first or fix the target",
                                   field="levels")
    for name in data.services:
        if catalog.find_service(session, name=name) is None:
            raise InvalidInput(f"no service named '{name}'; `watchkeeper service list` shows them", field="services")
        other = policy_of(session, service=name)
        if other is not None and other.name != data.name:
            raise Conflict(f"service '{name}' already uses escalation policy '{other.name}'; a service has one policy",
                           code="oncall.service_has_policy", field="services")


def _assign(row: Policy, data: PolicyCreate) -> None:
    row.team, row.description, row.services, row.repeat = data.team, data.description, list(data.services), data.repeat
    row.levels = [level.model_dump(mode="json") for level in data.levels]
    row.response_targets = [t.model_dump(mode="json") for t in data.response_targets]


def _require_services(session: Session, actor: Actor, permission: str, names: list[str]) -> None:
    for name in names:
        svc = catalog.find_service(session, name=name)
        require(actor, permission, team=svc.team if svc else None, service=name)


def create_policy(session: Session, *, data: PolicyCreate, actor: Actor, managed_by: str = "runtime") -> PolicyRead:
    """Create a policy. Permission `oncall.manage` on its team and on each service it covers.
    Raises Conflict for a taken name or a service that already has a policy. Audited."""
    require(actor, "oncall.manage", team=data.team)
    _require_services(session, actor, "oncall.manage", data.services)
    if session.execute(select(Policy.id).where(Policy.name == data.name)).first():
        raise Conflict(f"an escalation policy named '{data.name}' already exists; pick another name",
                       code="oncall.policy_exists", field="name")
    _check_refs(session, data)
    row = Policy(name=data.name, managed_by=managed_by)
    _assign(row, data)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="oncall.policy.create", target=f"policy:{row.name}",
                 after=data.model_dump(mode="json"))
    return _read(row)


def update_policy(session: Session, *, data: PolicyCreate, actor: Actor) -> PolicyRead:
    row = _row(session, data.name)
    for team in dict.fromkeys((row.team, data.team)):
        require(actor, "oncall.manage", team=team)
    _require_services(session, actor, "oncall.manage", sorted(set(row.services or []) | set(data.services)))
    _check_refs(session, data)
    before = as_create(_read(row)).model_dump(mode="json")
    _assign(row, data)
    session.flush()
    changes.record_update(session, actor=actor, action="oncall.policy.update", target=f"policy:{row.name}",
                          before=before, after=data.model_dump(mode="json"))
    return _read(row)


def delete_policy(session: Session, *, name: str, actor: Actor) -> None:
    row = _row(session, name)
    require(actor, "oncall.manage", team=row.team)
    before = as_create(_read(row)).model_dump(mode="json")
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="oncall.policy.delete", target=f"policy:{name}", before=before)


def adopt_policy(session: Session, *, name: str, actor: Actor) -> None:
    row = _row(session, name)
    require(actor, "oncall.manage", team=row.team)
    row.managed_by = "config"
    session.flush()
    audit.record(session, actor=actor, action="oncall.policy.adopt", target=f"policy:{name}",
                 before={"managed_by": "runtime"}, after={"managed_by": "config"})


def get_policy(session: Session, *, name: str, actor: Actor) -> PolicyRead:
    row = _row(session, name)
    require(actor, "oncall.read", team=row.team)
    return _read(row)


def list_policies(session: Session, *, actor: Actor) -> list[PolicyRead]:
    require(actor, "oncall.read")
    rows = session.execute(select(Policy).order_by(Policy.name)).scalars()
    return [_read(r) for r in rows if actor.can("oncall.read", team=r.team)]


def policy_of(session: Session, *, service: str) -> PolicyRead | None:
    """The policy a service uses, or None (no permission check: for this domain's analyses)."""
    for row in session.execute(select(Policy).order_by(Policy.id)).scalars():
        if service in (row.services or []):
            return _read(row)
    return None


def policy_by_name(session: Session, *, name: str) -> PolicyRead:
    """A policy by name, for a starter of escalations that decided to page (no permission
    check). Raises PolicyNotFound."""
    return _read(_row(session, name))


def any_policy(session: Session) -> bool:
    return session.execute(select(Policy.id).limit(1)).first() is not None


def on_call_for_service(session: Session, *, service: str, actor: Actor, at: dt.datetime | None = None) -> list[OnCallRead]:
    """Who level 1 of the service's policy pages at `at` (default now): each schedule target's
    person on call then, and each person target. `oncall.read` on the service."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "oncall.read", team=svc.team, service=svc.name)
    at = at or clock.utcnow()
    if at.tzinfo is None:
        raise InvalidInput("give --at with a zone offset or Z, e.g. 2026-12-07T09:00Z", field="at")
    policy = policy_of(session, service=service)
    if policy is None:
        raise NotFound(f"service '{service}' has no escalation policy; add one under oncall.policies",
                       code="oncall.no_policy")
    out = []
    for target in policy.levels[0].targets:
        if target.kind == "schedule":
            out.append(schedules.who_at(session, name=target.name, at=at))
        elif target.kind == "team":
            out.extend(OnCallRead(schedule="-", at=at, person=handle, source=f"team:{target.name}", until=None)
                       for handle in team_members(session, target.name))
        else:
            out.append(OnCallRead(schedule="-", at=at, person=target.name, source=f"policy:{policy.name}", until=None))
    return out


def team_members(session: Session, team: str) -> list[str]:
    """Handles of a catalog team's members, sorted; [] for a team that no longer exists."""
    try:
        row = teams.team_row(session, team)
    except NotFound:
        return []
    return sorted(m.person.handle for m in row.members)
