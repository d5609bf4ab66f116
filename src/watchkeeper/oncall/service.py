"""Schedules and overrides, and "who is on call": every answer comes from
`timeline.final_timeline`. Permissions: `oncall.read`, `oncall.manage` (schedules) and
`oncall.override` (overrides), on the schedule's team. Every mutation is audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import teams
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.oncall import timeline
from watchkeeper.oncall.models import Override, Policy, Schedule
from watchkeeper.oncall.schemas import (
    MAX_WINDOW, Layer, OnCallRead, OverrideCreate, OverrideRead, ScheduleCreate, ScheduleRead, Segment, TimelineRead,
)


class ScheduleNotFound(NotFound):
    code = "oncall.schedule_not_found"


def _row(session: Session, name: str) -> Schedule:
    row = session.execute(select(Schedule).where(Schedule.name == name)).scalar_one_or_none()
    if row is None:
        raise ScheduleNotFound(f"no on-call schedule named '{name}'; `watchkeeper oncall schedule list` shows them")
    return row


def _read(row: Schedule) -> ScheduleRead:
    return ScheduleRead(name=row.name, team=row.team, timezone=row.timezone, description=row.description,
                        layers=[Layer.model_validate(layer) for layer in row.layers], managed_by=row.managed_by)


def as_create(read: ScheduleRead) -> ScheduleCreate:
    """A stored schedule in the shape it is declared (watchkeeper.yaml compares the two)."""
    return ScheduleCreate(name=read.name, team=read.team, timezone=read.timezone, description=read.description,
                          layers=read.layers)


def _check_refs(session: Session, data: ScheduleCreate) -> None:
    teams.team_row(session, data.team)  # raises when unknown
    for handle in dict.fromkeys(m for layer in data.layers for m in layer.members):
        _known_person(session, handle)


def _known_person(session: Session, handle: str) -> None:
    try:
        teams.lookup_person(session, handle=handle)
    except NotFound:
        raise InvalidInput(f"no person with handle '{handle}'; add them to the catalog first (`watchkeeper person list`)",
                           field="members") from None


def create_schedule(session: Session, *, data: ScheduleCreate, actor: Actor, managed_by: str = "runtime") -> ScheduleRead:
    """Create a schedule. Permission `oncall.manage` on its team; the team and every member must
    exist in the catalog. Raises Conflict when the name is taken. Audited. Does not commit."""
    require(actor, "oncall.manage", team=data.team)
    _check_refs(session, data)
    if session.execute(select(Schedule.id).where(Schedule.name == data.name)).first():
        raise Conflict(f"an on-call schedule named '{data.name}' already exists; pick another name",
                       code="oncall.schedule_exists", field="name")
    row = Schedule(name=data.name, managed_by=managed_by)
    _assign(row, data)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="oncall.schedule.create", target=f"schedule:{row.name}",
                 after=data.model_dump(mode="json"))
    return _read(row)


def _assign(row: Schedule, data: ScheduleCreate) -> None:
    row.team, row.timezone, row.description = data.team, data.timezone, data.description
    row.layers = [layer.model_dump(mode="json") for layer in data.layers]


def update_schedule(session: Session, *, data: ScheduleCreate, actor: Actor) -> ScheduleRead:
    """Replace a schedule's team, zone, description and layers (overrides stay). Permission
    `oncall.manage` on the team before and after. Audited with what changed. Does not commit."""
    row = _row(session, data.name)
    for team in dict.fromkeys((row.team, data.team)):
        require(actor, "oncall.manage", team=team)
    _check_refs(session, data)
    before = as_create(_read(row)).model_dump(mode="json")
    _assign(row, data)
    session.flush()
    changes.record_update(session, actor=actor, action="oncall.schedule.update", target=f"schedule:{row.name}",
                          before=before, after=data.model_dump(mode="json"))
    return _read(row)


def delete_schedule(session: Session, *, name: str, actor: Actor) -> None:
    """Delete a schedule and its overrides. Permission `oncall.manage`. Refused (Conflict) while an
    escalation policy pages it: the policy would page nobody. Audited. Does not commit."""
    row = _row(session, name)
    require(actor, "oncall.manage", team=row.team)
    paging = sorted(p.name for p in session.execute(select(Policy)).scalars()
                    if any(t.get("kind") == "schedule" and t.get("name") == name for lv in p.levels for t in lv.get("targets", ())))
    if paging:
        raise Conflict(f"schedule '{name}' is paged by escalation policy {', '.join(paging)}; change those policies first",
                       code="oncall.schedule_in_use")
    before = as_create(_read(row)).model_dump(mode="json")
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="oncall.schedule.delete", target=f"schedule:{name}", before=before)


def adopt_schedule(session: Session, *, name: str, actor: Actor) -> None:
    """Hand a schedule made at run time over to watchkeeper.yaml. Audited. Does not commit."""
    row = _row(session, name)
    require(actor, "oncall.manage", team=row.team)
    row.managed_by = "config"
    session.flush()
    audit.record(session, actor=actor, action="oncall.schedule.adopt", target=f"schedule:{name}",
                 before={"managed_by": "runtime"}, after={"managed_by": "config"})


def get_schedule(session: Session, *, name: str, actor: Actor) -> ScheduleRead:
    row = _row(session, name)
    require(actor, "oncall.read", team=row.team)
    return _read(row)


def list_schedules(session: Session, *, actor: Actor, team: str | None = None) -> list[ScheduleRead]:
    """The schedules the actor may read (filtered by scope), by name."""
    require(actor, "oncall.read")
    query = select(Schedule).order_by(Schedule.name)
    if team:
        query = query.where(Schedule.team == team)
    return [_read(r) for r in session.execute(query).scalars() if actor.can("oncall.read", team=r.team)]


# ---------------------------------------------------------------------------- overrides


def _override_read(o: Override, schedule: str) -> OverrideRead:
    return OverrideRead(id=o.id, schedule=schedule, person=o.person, start=o.starts_at, end=o.ends_at,
                        reason=o.reason, created_by=o.created_by, created_at=o.created_at)


def add_override(session: Session, *, data: OverrideCreate, actor: Actor) -> OverrideRead:
    """`data.person` covers the schedule from start to end, above every layer (a later override
    wins over an earlier one where they overlap). Permission `oncall.override` on the schedule's
    team; the person must exist. Audited. Does not commit."""
    row = _row(session, data.schedule)
    require(actor, "oncall.override", team=row.team)
    _known_person(session, data.person)
    o = Override(schedule_id=row.id, person=data.person, starts_at=data.start, ends_at=data.end, reason=data.reason,
                 created_by=actor.name, created_at=clock.utcnow())
    session.add(o)
    session.flush()
    read = _override_read(o, row.name)
    audit.record(session, actor=actor, action="oncall.override.create", target=f"schedule:{row.name}",
                 after=read.model_dump(mode="json", exclude={"created_by", "created_at"}))
    return read


def remove_override(session: Session, *, schedule: str, override_id: int, actor: Actor) -> None:
    """Delete an override. Permission `oncall.override`. Audited. Does not commit."""
    row = _row(session, schedule)
    require(actor, "oncall.override", team=row.team)
    o = session.get(Override, override_id)
    if o is None or o.schedule_id != row.id:
        raise NotFound(f"schedule '{schedule}' has no override {override_id}; `watchkeeper oncall override list {schedule}` shows them",
                       code="oncall.override_not_found")
    before = _override_read(o, row.name).model_dump(mode="json", exclude={"created_at"})
    session.delete(o)
    session.flush()
    audit.record(session, actor=actor, action="oncall.override.delete", target=f"schedule:{schedule}", before=before)


def list_overrides(session: Session, *, schedule: str, actor: Actor, include_past: bool = False) -> list[OverrideRead]:
    row = _row(session, schedule)
    require(actor, "oncall.read", team=row.team)
    query = select(Override).where(Override.schedule_id == row.id).order_by(Override.starts_at, Override.id)
    if not include_past:
        query = query.where(Override.ends_at > clock.utcnow())
    return [_override_read(o, row.name) for o in session.execute(query).scalars()]


# ---------------------------------------------------------------------------- the timeline


def _covers(session: Session, row: Schedule, start: dt.datetime, end: dt.datetime) -> list[timeline.Cover]:
    rows = session.execute(select(Override).where(Override.schedule_id == row.id, Override.ends_at > start,
                                                  Override.starts_at < end)).scalars()
    return [timeline.Cover(o.id, o.person, o.starts_at, o.ends_at) for o in rows]


def _window(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give times with a zone offset or Z, e.g. 2026-12-07T09:00Z", field="start")
    if end <= start:
        raise InvalidInput("the window's end must be after its start", field="end")
    if end - start > MAX_WINDOW:
        raise InvalidInput(f"a timeline window may span at most {MAX_WINDOW.days} days; ask for a shorter one", field="end")
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def segments(session: Session, *, name: str, start: dt.datetime, end: dt.datetime) -> list[Segment]:
    """The final timeline of schedule `name` in [start, end), without a permission check: for
    this domain's own analyses (coverage, escalation), which check their own."""
    row = _row(session, name)
    start, end = _window(start, end)
    return timeline.final_timeline(timezone=row.timezone, layers=[Layer.model_validate(x) for x in row.layers],
                                   overrides=_covers(session, row, start, end), start=start, end=end)


def schedule_timeline(session: Session, *, name: str, start: dt.datetime, end: dt.datetime, actor: Actor) -> TimelineRead:
    """Who is on call on schedule `name` in [start, end) (at most 92 days). `oncall.read`."""
    row = _row(session, name)
    require(actor, "oncall.read", team=row.team)
    start, end = _window(start, end)
    return TimelineRead(schedule=name, timezone=row.timezone, start=start, end=end,
                        segments=segments(session, name=name, start=start, end=end))


def on_call(session: Session, *, actor: Actor, at: dt.datetime | None = None, schedule: str | None = None) -> list[OnCallRead]:
    """Who is on call at `at` (default now) on one schedule or on every schedule the actor may read."""
    at = (at or clock.utcnow())
    if at.tzinfo is None:
        raise InvalidInput("give --at with a zone offset or Z, e.g. 2026-12-07T09:00Z", field="at")
    names = [schedule] if schedule else [s.name for s in list_schedules(session, actor=actor)]
    out = []
    for name in names:
        require(actor, "oncall.read", team=_row(session, name).team)
        out.append(who_at(session, name=name, at=at))
    return out


def who_at(session: Session, *, name: str, at: dt.datetime) -> OnCallRead:
    """Who is on call on schedule `name` at `at`, and until when (looking a week ahead at most).
    No permission check: for this domain's own analyses and for callers that checked."""
    segs = segments(session, name=name, start=at, end=at + dt.timedelta(days=7))
    first = segs[0] if segs and segs[0].start == at.astimezone(dt.timezone.utc) else None
    return OnCallRead(schedule=name, at=at, person=first.person if first else None,
                      source=first.source if first else None, until=first.end if first else None)
