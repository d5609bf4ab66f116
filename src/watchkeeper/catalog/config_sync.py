"""Reconcile the `people:`, `teams:` and `services:` sections of watchkeeper.yaml through the
catalog services (the catalog's descriptor names RECONCILERS; configfile/plan.py runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.graph import find_cycle
from watchkeeper.catalog.schemas import PersonCreate, PersonUpdate, ServiceCreate, ServiceUpdate, TeamCreate, TeamUpdate
from watchkeeper.domain import Reconciler

_SERVICE_FIELDS = ("team", "display_name", "description", "tier", "public_url", "links", "depends_on", "support_hours", "targets")


def _fields(model, exclude=()) -> dict:
    return model.model_dump(mode="json", exclude=set(exclude))


def _service_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    out = {}
    for svc in catalog.list_services(session, actor=actor):
        data = svc.model_dump(mode="json")
        out[svc.name] = (svc.managed_by, {k: data[k] for k in _SERVICE_FIELDS} | {"stage": data["stage"]})
    return out


def _service_create(session: Session, fields: dict, actor: Actor) -> None:
    catalog.create_service(session, data=ServiceCreate.model_validate(fields), actor=actor, managed_by="config")


def _service_update(session: Session, name: str, fields: dict, actor: Actor) -> None:
    changes = {k: v for k, v in fields.items() if k in _SERVICE_FIELDS}
    if changes:
        catalog.update_service(session, name=name, data=ServiceUpdate.model_validate(changes), actor=actor)


def _team_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {t.name: (t.managed_by, _fields(t, exclude=("managed_by",))) for t in teams.list_teams(session, actor=actor)}


def _person_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {p.handle: (p.managed_by, _fields(p, exclude=("managed_by", "teams"))) for p in teams.list_people(session, actor=actor)}


def _team_create(session: Session, fields: dict, actor: Actor) -> None:
    teams.create_team(session, data=TeamCreate.model_validate(fields), actor=actor, managed_by="config")


def _person_create(session: Session, fields: dict, actor: Actor) -> None:
    teams.create_person(session, data=PersonCreate.model_validate(fields), actor=actor, managed_by="config")


def _services_in_dependency_order(cfg) -> dict[str, dict]:
    by_name = {s.name: s for s in cfg.services}
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dep in by_name[name].depends_on:
            visit(dep)
        ordered.append(name)

    assert find_cycle({n: s.depends_on for n, s in by_name.items()}) is None
    for name in by_name:
        visit(name)
    return {n: _fields(by_name[n]) | {"depends_on": sorted(set(by_name[n].depends_on))} for n in ordered}


# People before the teams they join, teams before the services they own (deletes run in reverse).
RECONCILERS: list[Reconciler] = [
    Reconciler(
        kind="person", section=("people",),
        desired=lambda cfg: {p.handle: _fields(p) for p in cfg.people},
        current=_person_current,
        create=_person_create,
        update=lambda s, name, f, a: teams.update_person(s, handle=name, data=PersonUpdate.model_validate({k: v for k, v in f.items() if k != "handle"}), actor=a),
        delete=lambda s, name, a: teams.delete_person(s, handle=name, actor=a),
        ignore=("handle",),
    ),
    Reconciler(
        kind="team", section=("teams",),
        desired=lambda cfg: {t.name: _fields(t) | {"members": sorted(set(t.members))} for t in cfg.teams},
        current=_team_current,
        create=_team_create,
        update=lambda s, name, f, a: teams.update_team(s, name=name, data=TeamUpdate.model_validate({k: v for k, v in f.items() if k != "name"}), actor=a),
        delete=lambda s, name, a: teams.delete_team(s, name=name, actor=a),
        ignore=("name",),
    ),
    Reconciler(
        kind="service", section=("services",),
        desired=_services_in_dependency_order,
        current=_service_current,
        create=_service_create,
        update=_service_update,
        delete=lambda s, name, a: catalog.delete_service(s, name=name, actor=a),
        ignore=("name", "stage"),
    ),
]
