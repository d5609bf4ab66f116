"""The change calendar: deploys (done, running and planned), change freezes and windows,
maintenance windows, on-call hand-offs, rollbacks and drills in one list of entries over a
range, with the conflicts between them flagged:

    deploy_in_freeze            a deploy (planned or done) inside a freeze that applies to its service
    deploy_outside_window       a deploy outside every change window that applies to its service
    maintenance_during_handoff  a maintenance window of a service spans an on-call hand-off of its team

and the same as an iCalendar feed (RFC 5545, written with the icalendar library).

Permissions: deploy.read; maintenance windows and hand-offs appear when the actor may also read
them (maintenance.read, oncall.read), everything filtered by the actor's scope. `plan_deploy`
(deploy.create) records a planned deploy so the calendar can flag it before it happens."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.schemas import ServiceRead
from watchkeeper.deploys import _occurrences, freezes
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.models import Deploy, Freeze, Rollback
from watchkeeper.deploys.schemas import ENVIRONMENT, DeployRead, Version, check_version
from watchkeeper.errors import InvalidInput
from watchkeeper.validation import Strict

MAX_RANGE = dt.timedelta(days=92)
DEPLOY_LENGTH = dt.timedelta(minutes=15)  # how long a deploy without a finish is drawn
MAX_ENTRIES = 5000


class PlannedDeploy(Strict):
    service: str = Field(min_length=1, max_length=100)
    version: Version
    environment: str = Field("production", pattern=ENVIRONMENT)
    at: dt.datetime = Field(description="When it is planned, with a time zone.")
    note: str | None = Field(None, max_length=1000)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("at needs a time zone, e.g. 2026-12-10T14:00:00Z")
        return value


class CalendarEntry(BaseModel):
    kind: str = Field(description="deploy, planned_deploy, freeze, window, maintenance, handoff, rollback, drill")
    ref: str = Field(description="Stable id of the entry, e.g. deploy:12, freeze:weekend@2026-12-12T15:00:00+00:00")
    title: str
    start: dt.datetime
    end: dt.datetime
    service: str | None = None
    team: str | None = None
    link: str | None = None


class Conflict(BaseModel):
    kind: str
    message: str
    refs: list[str]


class CalendarRead(BaseModel):
    start: dt.datetime
    end: dt.datetime
    entries: list[CalendarEntry]
    conflicts: list[Conflict]


def plan_deploy(session: Session, *, data: PlannedDeploy, actor: Actor) -> DeployRead:
    """Put a deploy on the calendar before it happens (status `planned`). Permission
    deploy.create on the service. Audited."""
    svc = catalog.lookup_service(session, name=data.service)
    require(actor, "deploy.create", team=svc.team, service=svc.name)
    row = Deploy(service=svc.name, environment=data.environment, stage=svc.stage.value, version=data.version, commit=None,
                 artifact=None, triggered_by=actor.name, recorded_by=actor.name, tests_status="untested", status="planned",
                 gate=None, gate_reasons=[], started_at=data.at.astimezone(dt.UTC), reason=data.note, details={})
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="deploy.plan", target=f"deploy:{row.id}",
                 after={"service": row.service, "version": row.version, "at": row.started_at, "environment": row.environment})
    return deploys.read(row)


def _range(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    now = clock.utcnow()
    start = start or now - dt.timedelta(days=7)
    end = end or start + dt.timedelta(days=35)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("give times with a zone offset or Z, e.g. 2026-12-07T00:00Z", field="start")
    if end <= start:
        raise InvalidInput("the calendar's end must be after its start", field="end")
    if end - start > MAX_RANGE:
        raise InvalidInput(f"the calendar spans at most {MAX_RANGE.days} days; ask for a shorter range", field="end")
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@dataclasses.dataclass
class _Occ:
    entry: CalendarEntry
    freeze: Freeze | None = None


def _overlaps(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> bool:
    return a0 < b1 and b0 < a1


def change_calendar(session: Session, *, actor: Actor, start: dt.datetime | None = None, end: dt.datetime | None = None,
                    service: str | None = None) -> CalendarRead:
    """Every change in [start, end) (default: a week ago to four weeks ahead; at most 92 days)
    the actor may see, and the conflicts among them."""
    require(actor, "deploy.read")
    start, end = _range(start, end)
    services = {s.name: s for s in catalog.list_services(session, actor=Actor.system("deploys", "system"))}
    if service is not None and service not in services:
        raise InvalidInput(f"unknown service '{service[:100]}'", field="service")
    visible = {n: s for n, s in services.items() if actor.can("deploy.read", team=s.team, service=n)}
    wanted = {service} if service else set(visible)
    entries: list[CalendarEntry] = []
    deploy_entries: list[tuple[CalendarEntry, ServiceRead]] = []

    for d in session.execute(select(Deploy).where(Deploy.started_at < end, Deploy.started_at >= start - dt.timedelta(days=1))
                             .order_by(Deploy.started_at)).scalars():
        if d.service not in wanted or d.service not in visible:
            continue
        d0 = clock.ensure_aware(d.started_at)
        d1 = clock.ensure_aware(d.finished_at) if d.finished_at else d0 + DEPLOY_LENGTH
        if not _overlaps(d0, max(d1, d0 + dt.timedelta(minutes=1)), start, end):
            continue
        kind = "planned_deploy" if d.status == "planned" else "deploy"
        e = CalendarEntry(kind=kind, ref=f"deploy:{d.id}", title=f"{d.service} {d.version} ({d.status})", start=d0,
                          end=max(d1, d0 + dt.timedelta(minutes=1)), service=d.service, team=visible[d.service].team,
                          link=f"/deploys/{d.id}")
        entries.append(e)
        deploy_entries.append((e, visible[d.service]))

    frozen: list[_Occ] = []
    for f in session.execute(select(Freeze).order_by(Freeze.name)).scalars():
        if service is not None and not freezes.applies(f, services[service]):
            continue
        if f.service is not None and f.service not in visible:
            continue
        if f.team is not None and not actor.can("deploy.read", team=f.team):
            continue
        for s0, s1 in freezes.occurrences(f, start, end):
            scope = f"service {f.service}" if f.service else f"team {f.team}" if f.team else "everyone"
            e = CalendarEntry(kind=f.kind, ref=f"freeze:{f.name}@{s0.isoformat()}",
                              title=f"{'Change freeze' if f.kind == 'freeze' else 'Change window'} {f.name} ({scope})",
                              start=s0, end=s1, service=f.service, team=f.team, link="/deploys/calendar")
            entries.append(e)
            frozen.append(_Occ(e, f))

    for r in session.execute(select(Rollback).where(Rollback.queued_at < end, Rollback.queued_at >= start - dt.timedelta(days=1))
                             .order_by(Rollback.id)).scalars():
        if r.service not in wanted or r.service not in visible:
            continue
        r0 = clock.ensure_aware(r.started_at or r.queued_at)
        r1 = clock.ensure_aware(r.finished_at) if r.finished_at else r0 + DEPLOY_LENGTH
        took = f", healthy in {r.time_to_healthy_seconds:.0f}s" if r.time_to_healthy_seconds is not None else ""
        entries.append(CalendarEntry(kind=r.kind, ref=f"rollback:{r.id}", title=f"{r.kind} of {r.service} ({r.status}{took})",
                                     start=r0, end=max(r1, r0 + dt.timedelta(minutes=1)), service=r.service,
                                     team=visible[r.service].team, link=f"/deploys?service={r.service}"))

    maint = _maintenance(session, actor, start, end, wanted, visible)
    handoffs = _handoffs(session, actor, start, end, {visible[n].team for n in wanted})
    entries += [e for e, _ in maint] + handoffs
    entries.sort(key=lambda e: (e.start, e.kind, e.ref))
    return CalendarRead(start=start, end=end, entries=entries[:MAX_ENTRIES],
                        conflicts=_conflicts(session, deploy_entries, frozen, maint, handoffs))


def _maintenance(session: Session, actor: Actor, start: dt.datetime, end: dt.datetime, wanted: set[str],
                 visible: dict[str, ServiceRead]) -> list[tuple[CalendarEntry, ServiceRead]]:
    if not actor.can("maintenance.read"):
        return []
    from watchkeeper.maintenance import service as maintenance

    out = []
    for w in maintenance.list_windows(session, actor=actor, include_past=True):
        if w.service is None or w.service not in wanted or w.service not in visible or w.cancelled_at is not None:
            continue
        duration = dt.timedelta(seconds=w.duration_seconds)
        for s0 in _occurrences.rrule_or_cron_starts(starts_at=w.starts_at, rrule=w.rrule, cron=w.cron, tz=w.timezone,
                                                     until=w.until, after=start - duration, before=end):
            if s0 + duration <= start:
                continue
            out.append((CalendarEntry(kind="maintenance", ref=f"maintenance:{w.name}@{s0.isoformat()}",
                                      title=f"Maintenance {w.name} ({w.service})", start=s0, end=s0 + duration, service=w.service,
                                      team=visible[w.service].team, link="/maintenance"), visible[w.service]))
            if len(out) >= MAX_ENTRIES:
                return out
    return out


def _handoffs(session: Session, actor: Actor, start: dt.datetime, end: dt.datetime, teams: set[str]) -> list[CalendarEntry]:
    if not actor.can("oncall.read"):
        return []
    from watchkeeper.oncall import service as oncall

    out = []
    for sch in oncall.list_schedules(session, actor=actor):
        if sch.team not in teams:
            continue
        segs = oncall.segments(session, name=sch.name, start=start, end=end)
        for prev, nxt in itertools.pairwise(segs):
            if prev.person == nxt.person:
                continue
            out.append(CalendarEntry(kind="handoff", ref=f"handoff:{sch.name}@{nxt.start.isoformat()}",
                                     title=f"On-call hand-off {sch.name}: {prev.person} → {nxt.person}", start=nxt.start,
                                     end=nxt.start + dt.timedelta(minutes=1), team=sch.team, link=f"/oncall/{sch.name}"))
    return out


def _conflicts(session: Session, deploy_entries, frozen: list[_Occ], maint, handoffs) -> list[Conflict]:
    out: list[Conflict] = []
    windows_by_service: dict[str, list[Freeze]] = {}
    for e, svc in deploy_entries:
        for occ in frozen:
            f = occ.freeze
            if f.kind == "freeze" and freezes.applies(f, svc) and occ.entry.start <= e.start < occ.entry.end:
                out.append(Conflict(kind="deploy_in_freeze", refs=[e.ref, occ.entry.ref],
                                    message=f"{e.title} at {e.start:%Y-%m-%d %H:%M} UTC is inside change freeze {f.name}"))
        if svc.name not in windows_by_service:
            windows_by_service[svc.name] = [f for f in session.execute(select(Freeze).where(Freeze.kind == "window")).scalars()
                                            if freezes.applies(f, svc)]
        windows = windows_by_service[svc.name]
        if windows and not any(freezes.in_force_at(w, e.start) for w in windows):
            out.append(Conflict(kind="deploy_outside_window", refs=[e.ref],
                                message=f"{e.title} at {e.start:%Y-%m-%d %H:%M} UTC is outside the change windows "
                                        f"({', '.join(sorted(w.name for w in windows))})"))
    for m, svc in maint:
        for h in handoffs:
            if h.team == svc.team and m.start <= h.start < m.end:
                out.append(Conflict(kind="maintenance_during_handoff", refs=[m.ref, h.ref],
                                    message=f"{m.title} spans {h.title} at {h.start:%Y-%m-%d %H:%M} UTC"))
    return out


def ical(calendar: CalendarRead, *, base_url: str = "") -> bytes:
    """The calendar as an iCalendar (RFC 5545) document; conflicts are marked in the summary."""
    from icalendar import Calendar, Event

    flagged: dict[str, list[str]] = {}
    for c in calendar.conflicts:
        for ref in c.refs:
            flagged.setdefault(ref, []).append(c.message)
    cal = Calendar()
    cal.add("prodid", "-//Watchkeeper//change calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Watchkeeper change calendar")
    for e in calendar.entries:
        ev = Event()
        ev.add("uid", f"{e.ref}@watchkeeper")
        ev.add("dtstamp", clock.utcnow())
        ev.add("dtstart", e.start)
        ev.add("dtend", e.end)
        ev.add("summary", ("⚠ " if e.ref in flagged else "") + e.title)
        ev.add("categories", [e.kind])
        description = "\n".join(flagged.get(e.ref, []))
        if description:
            ev.add("description", "Conflict: " + description)
        if e.link:
            ev.add("url", base_url.rstrip("/") + e.link)
        cal.add_component(ev)
    return cal.to_ical()
