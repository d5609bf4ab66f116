"""Maintenance windows: create, list, cancel, ask "is this covered now?" — and the alerting
Suppressor over active windows (wired in app.wire()). Every change publishes WindowChanged, so
alerts already firing take the window's effect at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.labels import matches_all, parse_stored_matchers
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import Conflict, NotFound
from watchkeeper.maintenance import _windows
from watchkeeper.maintenance.events import WindowChanged
from watchkeeper.maintenance.models import Window
from watchkeeper.maintenance.schemas import WindowCreate, WindowRead


def _occ(w: Window, at: dt.datetime):
    return _windows.active_occurrence(starts_at=w.starts_at, duration=dt.timedelta(seconds=w.duration_seconds), rrule=w.rrule,
                                      cron=w.cron, tz=w.timezone, until=w.until, at=at)


def _read(w: Window, now: dt.datetime) -> WindowRead:
    read = WindowRead.model_validate(w)
    if w.cancelled_at is None:
        current = _occ(w, now)
        read.active_now, read.current_end = current is not None, current[1] if current else None
        nxt = _windows.next_occurrence(starts_at=w.starts_at, duration=dt.timedelta(seconds=w.duration_seconds), rrule=w.rrule,
                                       cron=w.cron, tz=w.timezone, until=w.until, after=now + dt.timedelta(microseconds=1))
        if nxt:
            read.next_start, read.next_end = nxt
    return read


def create_window(session: Session, *, data: WindowCreate, actor: Actor, managed_by: str = "runtime") -> WindowRead:
    """Schedule a window. Raises Conflict when the name is taken, ServiceNotFound for an
    unknown service. Permission `maintenance.create` on the service. Audited. Does not commit."""
    team = None
    if data.service:
        team = catalog.lookup_service(session, name=data.service).team
    require(actor, "maintenance.create", team=team, service=data.service)
    old = session.execute(select(Window).where(Window.name == data.name)).scalar_one_or_none()
    if old is not None and not (managed_by == "config" and old.cancelled_at is not None):
        raise Conflict(f"a maintenance window named '{data.name}' already exists; pick another name", code="maintenance.exists", field="name")
    now = clock.utcnow()
    if old is not None:  # the file declares a window again that it once removed: the name is reused
        w = old
        _assign(w, data)
        w.cancelled_at, w.created_by, w.created_at, w.managed_by = None, actor.name, now, managed_by
    else:
        w = Window(name=data.name, created_by=actor.name, created_at=now, managed_by=managed_by)
        _assign(w, data)
        session.add(w)
    session.flush()
    read = _read(w, now)
    audit.record(session, actor=actor, action="maintenance.create", target=f"maintenance:{w.name}",
                 after=data.model_dump(mode="json"))
    events.publish(session, WindowChanged(w.name, w.service))
    return read


def _assign(w: Window, data: WindowCreate) -> None:
    w.service, w.matchers, w.starts_at = data.service, list(data.matchers), data.starts_at
    w.duration_seconds, w.rrule, w.cron, w.timezone = int(data.duration.total_seconds()), data.rrule, data.cron, data.timezone
    w.until, w.comment = data.until, data.comment


def as_create(w: WindowRead) -> WindowCreate:
    """A stored window in the shape it is declared (watchkeeper.yaml compares the two)."""
    return WindowCreate(name=w.name, service=w.service, matchers=w.matchers, starts_at=w.starts_at,
                        duration=dt.timedelta(seconds=w.duration_seconds), rrule=w.rrule, cron=w.cron, timezone=w.timezone,
                        until=w.until, comment=w.comment)


def _team_of(session: Session, service: str | None) -> str | None:
    svc = catalog.find_service(session, name=service) if service else None
    return svc.team if svc else None


def _get(session: Session, name: str) -> Window:
    w = session.execute(select(Window).where(Window.name == name)).scalar_one_or_none()
    if w is None:
        raise NotFound(f"no maintenance window named '{name}'; `watchkeeper maintenance list` shows them", code="maintenance.not_found")
    return w


def update_window(session: Session, *, data: WindowCreate, actor: Actor) -> WindowRead:
    """Change a window in place (watchkeeper.yaml edits). Permission `maintenance.create` on the
    service it covers before and after. Audited with what changed. Does not commit."""
    w = _get(session, data.name)
    for service in {w.service, data.service}:
        require(actor, "maintenance.create", team=_team_of(session, service), service=service)
    now = clock.utcnow()
    before = as_create(_read(w, now)).model_dump(mode="json")
    old_service = w.service
    _assign(w, data)
    session.flush()
    changed_before, changed_after = audit.diff(before, data.model_dump(mode="json"))
    audit.record(session, actor=actor, action="maintenance.update", target=f"maintenance:{w.name}",
                 before=changed_before, after=changed_after)
    for service in dict.fromkeys((old_service, w.service)):
        events.publish(session, WindowChanged(w.name, service))
    return _read(w, now)


def adopt_window(session: Session, *, name: str, actor: Actor) -> None:
    """Hand a window made at run time over to watchkeeper.yaml. Audited. Does not commit."""
    w = _get(session, name)
    require(actor, "maintenance.create", team=_team_of(session, w.service), service=w.service)
    w.managed_by = "config"
    session.flush()
    audit.record(session, actor=actor, action="maintenance.adopt", target=f"maintenance:{name}",
                 before={"managed_by": "runtime"}, after={"managed_by": "config"})


def cancel_window(session: Session, *, name: str, actor: Actor) -> WindowRead:
    """Stop a window (kept for history). Audited. Does not commit."""
    w = _get(session, name)
    require(actor, "maintenance.cancel", team=_team_of(session, w.service), service=w.service)
    if w.cancelled_at is not None:
        raise Conflict(f"maintenance window '{name}' was already cancelled", code="maintenance.cancelled")
    w.cancelled_at = clock.utcnow()
    session.flush()
    audit.record(session, actor=actor, action="maintenance.cancel", target=f"maintenance:{name}")
    events.publish(session, WindowChanged(w.name, w.service))
    return _read(w, clock.utcnow())


def list_windows(session: Session, *, actor: Actor, service: str | None = None,
                 include_past: bool = False) -> list[WindowRead]:
    """Current and upcoming maintenance windows (past ones too with `include_past`). Raises
    PermissionDenied."""
    require(actor, "maintenance.read")
    now = clock.utcnow()
    query = select(Window).order_by(Window.starts_at)
    if service:
        query = query.where(Window.service == service)
    out = []
    for w in session.execute(query).scalars():
        read = _read(w, now)
        if include_past or (w.cancelled_at is None and (read.active_now or read.next_start is not None)):
            out.append(read)
    return out


def active_for(session: Session, *, service: str, at: dt.datetime | None = None) -> WindowRead | None:
    """The window covering `service` at `at` (default now) — for the deploy gate later."""
    at = at or clock.utcnow()
    for w in session.execute(select(Window).where(Window.service == service, Window.cancelled_at.is_(None))).scalars():
        if _occ(w, at):
            return _read(w, at)
    return None


@dataclasses.dataclass(frozen=True)
class Covered:
    """Why an alert is not sent: the shape alerting's Suppressor port expects (kind, ref, message)."""

    kind: str
    ref: str
    message: str


class ActiveWindows:
    """alerting's Suppressor: an alert inside a window is recorded but not sent."""

    def __init__(self, rows: list[Window], at: dt.datetime):
        parsed = ((w, parse_stored_matchers(w.matchers, owner=f"maintenance:{w.name}"), occ) for w in rows if (occ := _occ(w, at)))
        self._items = [(w, matchers, occ) for w, matchers, occ in parsed if matchers is not None]

    def may_suppress(self, service: str | None) -> bool:
        return any(not w.service or w.service == service for w, _m, _o in self._items)

    def is_suppressed(self, labels: Mapping[str, str], *, fingerprint: str, at: dt.datetime) -> Covered | None:
        for w, matchers, (_start, end) in self._items:
            if w.service and labels.get("service") != w.service:
                continue
            if matches_all(matchers, labels):
                return Covered("maintenance", f"maintenance:{w.name}",
                              f"in maintenance window '{w.name}' until {end:%Y-%m-%d %H:%M} UTC" + (f": {w.comment}" if w.comment else ""))
        return None


def suppressor(session: Session, at: dt.datetime) -> ActiveWindows:
    rows = list(session.execute(select(Window).where(Window.cancelled_at.is_(None), Window.starts_at <= at)).scalars())
    return ActiveWindows(rows, at)
