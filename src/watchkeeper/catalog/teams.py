"""Teams and the people in them: who owns services, who is on a team, how to reach them.

Every mutating function checks permission, writes one audit event and flushes; the caller
(request, CLI command, apply, job) owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog.errors import PersonNotFound, TeamNotFound
from watchkeeper.catalog.models import Person, Service, Team, TeamMember
from watchkeeper.catalog.schemas import PersonCreate, PersonRead, PersonUpdate, TeamCreate, TeamRead, TeamUpdate
from watchkeeper.errors import Conflict, InvalidInput


def _team_read(team: Team) -> TeamRead:
    return TeamRead(
        name=team.name, display_name=team.display_name, description=team.description, email=team.email,
        chat=team.chat, members=sorted(m.person.handle for m in team.members), managed_by=team.managed_by,
    )


def team_row(session: Session, name: str) -> Team:
    """The team row (services point at it). Raises TeamNotFound naming the known teams."""
    team = session.execute(select(Team).where(Team.name == name)).scalar_one_or_none()
    if team is None:
        known = ", ".join(session.execute(select(Team.name).order_by(Team.name).limit(20)).scalars()) or "none yet"
        raise TeamNotFound(f"no team named '{name}'; known teams: {known}", field="team")
    return team


def _people(session: Session, handles: list[str]) -> list[Person]:
    found = {p.handle: p for p in session.execute(select(Person).where(Person.handle.in_(handles))).scalars()}
    missing = [h for h in handles if h not in found]
    if missing:
        raise InvalidInput(f"unknown people {missing}; add them under `people:` first", field="members")
    return [found[h] for h in handles]


def _set_members(session: Session, team: Team, handles: list[str]) -> None:
    wanted = {p.id: p for p in _people(session, sorted(set(handles)))}
    team.members[:] = [m for m in team.members if m.person_id in wanted]
    have = {m.person_id for m in team.members}
    for pid, person in wanted.items():
        if pid not in have:
            team.members.append(TeamMember(person=person))


def create_team(session: Session, *, data: TeamCreate, actor: Actor, managed_by: str = "runtime") -> TeamRead:
    """Create a team. Raises Conflict if the name is taken. Audited."""
    require(actor, "team.create", team=data.name)
    if session.execute(select(Team.id).where(Team.name == data.name)).first():
        raise Conflict(f"team '{data.name}' already exists", code="team.exists", field="name")
    team = Team(name=data.name, display_name=data.display_name, description=data.description,
                email=data.email, chat=data.chat, managed_by=managed_by)
    session.add(team)
    _set_members(session, team, data.members)
    session.flush()
    read = _team_read(team)
    audit.record(session, actor=actor, action="team.create", target=f"team:{team.name}", after=read)
    return read


def update_team(session: Session, *, name: str, data: TeamUpdate, actor: Actor) -> TeamRead:
    team = team_row(session, name)
    require(actor, "team.update", team=name)
    before = _team_read(team).model_dump(mode="json")
    for field in ("display_name", "description", "email", "chat"):
        if field in data.model_fields_set:
            setattr(team, field, getattr(data, field))
    if data.members is not None:
        _set_members(session, team, data.members)
    session.flush()
    after = _team_read(team)
    changes.record_update(session, actor=actor, action="team.update", target=f"team:{name}",
                          before=before, after=after.model_dump(mode="json"))
    return after


def delete_team(session: Session, *, name: str, actor: Actor) -> None:
    team = team_row(session, name)
    require(actor, "team.delete", team=name)
    owned = list(session.execute(select(Service.name).where(Service.team_id == team.id)).scalars())
    if owned:
        raise Conflict(f"team '{name}' still owns services {owned}; move or delete them first", code="team.in_use")
    before = _team_read(team)
    session.delete(team)
    session.flush()
    audit.record(session, actor=actor, action="team.delete", target=f"team:{name}", before=before)


def list_teams(session: Session, *, actor: Actor) -> list[TeamRead]:
    require(actor, "team.read")
    teams = session.execute(select(Team).order_by(Team.name)).scalars()
    return [_team_read(t) for t in teams if actor.sees(team=t.name, service=None)]


def get_team(session: Session, *, name: str, actor: Actor) -> TeamRead:
    """Raises TeamNotFound; PermissionDenied unless the actor may read the team."""
    team = team_row(session, name)
    require(actor, "team.read", team=name)
    return _team_read(team)


# ---------------------------------------------------------------- people


def _person(session: Session, handle: str) -> Person:
    person = session.execute(select(Person).where(Person.handle == handle)).scalar_one_or_none()
    if person is None:
        raise PersonNotFound(f"no person with handle '{handle}'")
    return person


def _person_read(session: Session, person: Person) -> PersonRead:
    teams = session.execute(
        select(Team.name).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.person_id == person.id)
    ).scalars()
    return PersonRead(
        handle=person.handle, full_name=person.full_name, email=person.email, timezone=person.timezone,
        contact_methods=person.contact_methods or [], teams=sorted(teams), managed_by=person.managed_by,
    )


def create_person(session: Session, *, data: PersonCreate, actor: Actor, managed_by: str = "runtime") -> PersonRead:
    require(actor, "person.create")
    if session.execute(select(Person.id).where(Person.handle == data.handle)).first():
        raise Conflict(f"person '{data.handle}' already exists", code="person.exists", field="handle")
    person = Person(handle=data.handle, full_name=data.full_name, email=data.email, timezone=data.timezone,
                    contact_methods=[c.model_dump() for c in data.contact_methods], managed_by=managed_by)
    session.add(person)
    session.flush()
    read = _person_read(session, person)
    audit.record(session, actor=actor, action="person.create", target=f"person:{person.handle}", after=read)
    return read


def update_person(session: Session, *, handle: str, data: PersonUpdate, actor: Actor) -> PersonRead:
    require(actor, "person.update")
    person = _person(session, handle)
    before = _person_read(session, person).model_dump(mode="json")
    for field in ("full_name", "email"):
        if field in data.model_fields_set:
            setattr(person, field, getattr(data, field))
    if data.timezone is not None:
        person.timezone = data.timezone
    if data.contact_methods is not None:
        person.contact_methods = [c.model_dump() for c in data.contact_methods]
    session.flush()
    after = _person_read(session, person)
    changes.record_update(session, actor=actor, action="person.update", target=f"person:{handle}",
                          before=before, after=after.model_dump(mode="json"))
    return after


def delete_person(session: Session, *, handle: str, actor: Actor) -> None:
    require(actor, "person.delete")
    person = _person(session, handle)
    before = _person_read(session, person)
    session.delete(person)
    session.flush()
    audit.record(session, actor=actor, action="person.delete", target=f"person:{handle}", before=before)


def list_people(session: Session, *, actor: Actor) -> list[PersonRead]:
    require(actor, "person.read")
    return [_person_read(session, p) for p in session.execute(select(Person).order_by(Person.handle)).scalars()]


def get_person(session: Session, *, handle: str, actor: Actor) -> PersonRead:
    """Raises PersonNotFound; PermissionDenied unless the actor may read people."""
    require(actor, "person.read")
    return _person_read(session, _person(session, handle))


def lookup_person(session: Session, *, handle: str) -> PersonRead:
    """The person, for another domain's service function that checks its own permission (no
    check here). Raises PersonNotFound."""
    return _person_read(session, _person(session, handle))

