"""Permission scope of monitors, rules and SLOs: the catalog service an object watches decides
the (team, service) a permission is checked against; an object with no service is global."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import InvalidInput


def scope_of(session: Session, service: str | None) -> tuple[str | None, str | None]:
    """(team, service) for permission checks; InvalidInput for an unknown service."""
    if service is None:
        return None, None
    svc = catalog.find_service(session, name=service)
    if svc is None:
        raise InvalidInput(f"unknown service '{service}'; create it first or check `watchkeeper service list`", field="service")
    return svc.team, svc.name


def require_in_scope(session: Session, actor: Actor, permission: str, service: str | None) -> None:
    """`require` the permission for the object's service (raises PermissionDenied)."""
    team, svc = scope_of(session, service)
    require(actor, permission, team=team, service=svc)


def visible(session: Session, actor: Actor, permission: str) -> Callable[[str | None], bool]:
    """For lists: whether the actor may `permission` an object watching `service` (an object
    with no service is visible to whoever holds the permission at all)."""
    if actor.superuser:
        return lambda service: True
    teams = {s.name: s.team for s in catalog.list_services(session, actor=Actor.system("monitoring", "system"))}

    def check(service: str | None) -> bool:
        if service is None:
            return actor.can(permission)
        return actor.can(permission, team=teams.get(service), service=service)

    return check
