from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import ServiceCreate, ServiceRead, TeamCreate, TeamRead

SYSTEM = Actor.system("factory", "system")


def make_team(session: Session, *, name: str = "payments", **overrides) -> TeamRead:
    existing = [t for t in teams.list_teams(session, actor=SYSTEM) if t.name == name]
    if existing:
        return existing[0]
    return teams.create_team(session, data=TeamCreate(name=name, **overrides), actor=SYSTEM)


def make_service(session: Session, *, name: str = "checkout", team: str = "payments", actor: Actor | None = None,
                 **overrides) -> ServiceRead:
    make_team(session, name=team)
    return catalog.create_service(session, data=ServiceCreate(name=name, team=team, **overrides), actor=actor or SYSTEM)
