"""Public functions of the catalog's services: create, change, delete and read them, their
dependency graph and their stages (promote, demote). Teams and people are teams.py.

Every mutating function checks permission, writes one audit event and flushes; the caller
(request, CLI command, apply, job) owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import gate, graph
from watchkeeper.catalog.errors import InvalidTransition, ServiceNotFound
from watchkeeper.catalog.models import Dependency, Person, Service, StageChange, Team
from watchkeeper.catalog.schemas import ServiceCreate, ServiceFilter, ServiceRead, ServiceUpdate, StageChangeRead, Targets
from watchkeeper.catalog.stages import Move, Stage
from watchkeeper.catalog.teams import team_row
from watchkeeper.errors import Conflict, InvalidInput


def _service(session: Session, name: str) -> Service:
    svc = session.execute(select(Service).where(Service.name == name)).scalar_one_or_none()
    if svc is None:
        raise ServiceNotFound(f"no service named '{name}'; `watchkeeper service list` shows them")
    return svc


def _edges(session: Session) -> dict[str, set[str]]:
    """The whole dependency graph by name: service -> services it depends on."""
    names = dict(session.execute(select(Service.id, Service.name)).all())
    edges: dict[str, set[str]] = defaultdict(set)
    for sid, did in session.execute(select(Dependency.service_id, Dependency.depends_on_id)).all():
        edges[names[sid]].add(names[did])
    return edges


def dependency_graph(session: Session) -> dict[str, list[str]]:
    """Service name → names it depends on (directly). For inhibition, readiness and the UI."""
    return {k: sorted(v) for k, v in _edges(session).items()}


def upstream_of(session: Session, *, name: str) -> list[str]:
    """Every service `name` depends on, transitively, nearest first."""
    return graph.upstream(_edges(session), name)


def _reverse(edges: dict[str, set[str]]) -> dict[str, list[str]]:
    """Service name -> names of the services that depend on it."""
    out: dict[str, list[str]] = defaultdict(list)
    for name, deps in edges.items():
        for dep in deps:
            out[dep].append(name)
    return out


def _service_read(
    session: Session, svc: Service, edges: dict[str, set[str]] | None = None,
    reverse: dict[str, list[str]] | None = None,
) -> ServiceRead:
    edges = edges if edges is not None else _edges(session)
    reverse = reverse if reverse is not None else _reverse(edges)
    dependents = sorted(reverse.get(svc.name, ()))
    return ServiceRead(
        id=svc.id, name=svc.name, display_name=svc.display_name, description=svc.description,
        team=svc.team.name, tier=svc.tier, stage=Stage(svc.stage), public_url=svc.public_url,
        links=svc.links or [], depends_on=sorted(edges.get(svc.name, ())), dependents=dependents,
        support_hours=svc.support_hours, targets=_targets_of(svc), forced=svc.forced,
        forced_reason=svc.forced_reason, managed_by=svc.managed_by, created_at=svc.created_at,
        updated_at=svc.updated_at,
    )


def _targets_of(svc: Service) -> Targets:
    return Targets(
        sla=svc.sla_target, slo=svc.slo_target,
        slo_window=svc.slo_window_seconds,
        rpo=svc.rpo_seconds, rto=svc.rto_seconds,
    )


def _apply_targets(svc: Service, targets: Targets) -> None:
    svc.sla_target, svc.slo_target = targets.sla, targets.slo
    svc.slo_window_seconds = int(targets.slo_window.total_seconds()) if targets.slo_window else None
    svc.rpo_seconds = int(targets.rpo.total_seconds()) if targets.rpo else None
    svc.rto_seconds = int(targets.rto.total_seconds()) if targets.rto else None


def _set_dependencies(session: Session, svc: Service, names: list[str]) -> None:
    names = sorted(set(names))
    if svc.name in names:
        raise InvalidInput(f"service '{svc.name}' cannot depend on itself", field="depends_on")
    ids = dict(session.execute(select(Service.name, Service.id).where(Service.name.in_(names))).all())
    missing = [n for n in names if n not in ids]
    if missing:
        raise InvalidInput(f"service '{svc.name}' depends on unknown services {missing}; create them first", field="depends_on")
    edges = _edges(session)
    edges[svc.name] = set(names)
    cycle = graph.find_cycle(edges, start=svc.name)
    if cycle:
        raise InvalidInput(
            "dependencies would form a cycle: " + " → ".join(cycle) + "; remove one of these edges",
            field="depends_on", code="service.dependency_cycle",
        )
    current = {d.depends_on_id: d for d in session.execute(select(Dependency).where(Dependency.service_id == svc.id)).scalars()}
    for did, dep in current.items():
        if did not in ids.values():
            session.delete(dep)
    for did in ids.values():
        if did not in current:
            session.add(Dependency(service_id=svc.id, depends_on_id=did))
    session.flush()


def create_service(
    session: Session, *, data: ServiceCreate, actor: Actor, managed_by: str = "runtime"
) -> ServiceRead:
    """Create a service owned by `data.team`. Raises Conflict, TeamNotFound, InvalidInput
    (unknown dependency or a cycle, which is named). Audited. Does not commit."""
    require(actor, "service.create", team=data.team, service=data.name)
    if session.execute(select(Service.id).where(Service.name == data.name)).first():
        raise Conflict(f"service '{data.name}' already exists; update it instead", code="service.exists", field="name")
    team = team_row(session, data.team)
    svc = Service(
        name=data.name, display_name=data.display_name, description=data.description, team=team,
        tier=data.tier, stage=data.stage.value, public_url=str(data.public_url) if data.public_url else None,
        links=[link.model_dump(mode="json") for link in data.links],
        support_hours=data.support_hours.model_dump(mode="json") if data.support_hours else None,
        managed_by=managed_by,
    )
    _apply_targets(svc, data.targets)
    session.add(svc)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"service '{data.name}' already exists", code="service.exists", field="name") from None
    _set_dependencies(session, svc, data.depends_on)
    read = _service_read(session, svc)
    audit.record(session, actor=actor, action="service.create", target=f"service:{svc.name}",
                 after=read.model_dump(mode="json", exclude={"id", "created_at", "updated_at", "dependents"}))
    return read


_SNAPSHOT_EXCLUDE = {"id", "created_at", "updated_at", "dependents", "forced", "forced_reason"}


def update_service(session: Session, *, name: str, data: ServiceUpdate, actor: Actor) -> ServiceRead:
    """Change a service's attributes (not its stage: see promote/demote). Audited with the diff."""
    svc = _service(session, name)
    require(actor, "service.update", team=svc.team.name, service=name)
    before = _service_read(session, svc).model_dump(mode="json", exclude=_SNAPSHOT_EXCLUDE)
    fields = data.model_fields_set
    if "team" in fields and data.team is not None:
        new_team = team_row(session, data.team)
        require(actor, "service.update", team=new_team.name, service=name)
        svc.team = new_team
    for field in ("display_name", "description"):
        if field in fields:
            setattr(svc, field, getattr(data, field))
    if "tier" in fields and data.tier is not None:
        svc.tier = data.tier
    if "public_url" in fields:
        svc.public_url = str(data.public_url) if data.public_url else None
    if "links" in fields:
        svc.links = [link.model_dump(mode="json") for link in data.links or []]
    if "support_hours" in fields:
        svc.support_hours = data.support_hours.model_dump(mode="json") if data.support_hours else None
    if "targets" in fields:
        _apply_targets(svc, data.targets or Targets())
    session.flush()
    if "depends_on" in fields and data.depends_on is not None:
        _set_dependencies(session, svc, data.depends_on)
    after = _service_read(session, svc)
    changes.record_update(session, actor=actor, action="service.update", target=f"service:{name}",
                          before=before, after=after.model_dump(mode="json", exclude=_SNAPSHOT_EXCLUDE))
    return after


def delete_service(session: Session, *, name: str, actor: Actor) -> None:
    """Delete a service. Refused while other services depend on it (they are named)."""
    svc = _service(session, name)
    require(actor, "service.delete", team=svc.team.name, service=name)
    read = _service_read(session, svc)
    if read.dependents:
        raise Conflict(
            f"services {read.dependents} depend on '{name}'; remove those dependencies first", code="service.in_use"
        )
    session.delete(svc)
    session.flush()
    audit.record(session, actor=actor, action="service.delete", target=f"service:{name}",
                 before=read.model_dump(mode="json", exclude=_SNAPSHOT_EXCLUDE))


def get_service(session: Session, *, name: str, actor: Actor) -> ServiceRead:
    """Raises ServiceNotFound; PermissionDenied unless the actor may read the service."""
    svc = _service(session, name)
    require(actor, "service.read", team=svc.team.name, service=name)
    return _service_read(session, svc)


def lookup_service(session: Session, *, name: str) -> ServiceRead:
    """The service, for another domain's service function that checks its own permission on
    the service's team (no check here). Raises ServiceNotFound."""
    return _service_read(session, _service(session, name))


def find_service(session: Session, *, name: str) -> ServiceRead | None:
    svc = session.execute(select(Service).where(Service.name == name)).scalar_one_or_none()
    return _service_read(session, svc) if svc else None


def list_services(session: Session, *, actor: Actor, filter: ServiceFilter | None = None) -> list[ServiceRead]:
    """Services the actor may see, by name."""
    require(actor, "service.read")
    filter = filter or ServiceFilter()
    query = select(Service).join(Team, Service.team_id == Team.id).order_by(Service.name)
    if filter.team:
        query = query.where(Team.name == filter.team)
    if filter.stage:
        query = query.where(Service.stage == filter.stage.value)
    if filter.tier:
        query = query.where(Service.tier == filter.tier)
    if filter.q:
        like = f"%{filter.q}%"
        query = query.where(or_(Service.name.ilike(like), Service.display_name.ilike(like)))
    edges = _edges(session)
    reverse = _reverse(edges)
    return [
        _service_read(session, s, edges, reverse)
        for s in session.execute(query).unique().scalars()
        if actor.sees(team=s.team.name, service=s.name)
    ]


def stage_history(session: Session, *, name: str, actor: Actor) -> list[StageChangeRead]:
    svc = _service(session, name)
    require(actor, "service.read", team=svc.team.name, service=name)
    rows = session.execute(
        select(StageChange).where(StageChange.service_id == svc.id).order_by(StageChange.at.desc(), StageChange.id.desc())
    ).scalars()
    return [StageChangeRead.model_validate(r) for r in rows]


# ---------------------------------------------------------------- stages


def promote(
    session: Session, *, name: str, to: Stage, actor: Actor, force: bool = False, reason: str | None = None
) -> ServiceRead:
    """Move a service one stage up, after asking every registered gate.

    Refuses a skip (InvalidTransition naming the skipped stages and their risks), a move that
    is not upward, and a move a gate fails — unless `force` with a reason, which needs
    `service.force` (admins) and marks the service as forced. Audited. Does not commit.
    """
    svc = _service(session, name)
    require(actor, "service.promote", team=svc.team.name, service=name)
    move = Move(Stage(svc.stage), Stage(to))
    if not move.is_promotion:
        raise InvalidTransition(
            f"'{name}' is already at {svc.stage}; promote moves up only — use `watchkeeper service demote` to step back",
            code="service.not_a_promotion",
        )
    if move.skipped:
        raise InvalidTransition(move.skip_message(name), code="service.stage_skip")
    failures = gate.evaluate(session, service=_service_read(session, svc), target=move.target)
    if failures and not force:
        items = "; ".join(f"{f.item}: {f.reason}" for f in failures)
        raise InvalidTransition(
            f"'{name}' is not ready for {move.target.value}: {items}", code="service.gate_failed"
        )
    if force:
        require(actor, "service.force")
        if not reason or len(reason.strip()) < 3:
            raise InvalidInput("a forced promotion needs --reason explaining why the gate is overridden", field="reason")
    _record_move(session, svc, move, actor=actor, reason=reason, forced=bool(failures) and force)
    if force and failures:
        svc.forced, svc.forced_reason = True, reason
    session.flush()
    audit.record(
        session, actor=actor, action="service.promote", target=f"service:{name}",
        before={"stage": move.current.value}, after={"stage": move.target.value, "forced": bool(force and failures)},
        note=reason if force else None,
    )
    return _service_read(session, svc)


def demote(session: Session, *, name: str, to: Stage, reason: str, actor: Actor) -> ServiceRead:
    """Move a service down to any lower stage; a reason is required. Audited. Does not commit."""
    svc = _service(session, name)
    require(actor, "service.promote", team=svc.team.name, service=name)
    move = Move(Stage(svc.stage), Stage(to))
    if not move.is_demotion:
        raise InvalidTransition(f"'{name}' is at {svc.stage}; demote moves to a lower stage only", code="service.not_a_demotion")
    if not reason or len(reason.strip()) < 3:
        raise InvalidInput("a demotion needs a reason", field="reason")
    _record_move(session, svc, move, actor=actor, reason=reason, forced=False)
    svc.forced, svc.forced_reason = False, None
    session.flush()
    audit.record(session, actor=actor, action="service.demote", target=f"service:{name}",
                 before={"stage": move.current.value}, after={"stage": move.target.value}, note=reason)
    return _service_read(session, svc)


def clear_forced(session: Session, *, name: str, actor: Actor) -> None:
    """The gate passes again: drop the forced mark (readiness refresh does this, with the
    permission it needs for the service). Audited."""
    svc = _service(session, name)
    require(actor, "readiness.refresh", team=svc.team.name, service=name)
    if svc.forced:
        svc.forced, svc.forced_reason = False, None
        audit.record(session, actor=actor, action="service.unforce", target=f"service:{name}")
        session.flush()


def _record_move(session: Session, svc: Service, move: Move, *, actor: Actor, reason: str | None, forced: bool) -> None:
    svc.stage = move.target.value
    session.add(StageChange(service_id=svc.id, from_stage=move.current.value, to_stage=move.target.value,
                            at=clock.utcnow(), actor=actor.name, reason=reason, forced=forced))


def adopt(session: Session, *, kind: str, name: str, actor: Actor) -> None:
    """Hand an object made at run time over to the config file (apply calls this). Audited."""
    require(actor, "config.apply")
    model = {"service": Service, "team": Team, "person": Person}[kind]
    column = Person.handle if kind == "person" else model.name
    row = session.execute(select(model).where(column == name)).scalar_one()
    changes.adopt(session, row, kind=kind, name=name, actor=actor)
