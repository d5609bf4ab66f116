"""Silences: label matchers with a start and an end. Expired silences are kept for history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.labels import Matcher, matches_all, parse_matchers, parse_stored_matchers
from watchkeeper.alerting.models import Alert, AlertEvent, Silence
from watchkeeper.alerting.schemas import SilenceCreate, SilenceRead
from watchkeeper.alerting.suppress import Reason
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.errors import Conflict, InvalidInput, NotFound


def _state(row: Silence, now: dt.datetime) -> str:
    if row.ends_at <= now:
        return "expired"
    return "pending" if row.starts_at > now else "active"


def _read(row: Silence, now: dt.datetime, matching: int = 0) -> SilenceRead:
    read = SilenceRead.model_validate(row)
    read.state = _state(row, now)
    read.matching_firing = matching
    return read


def _firing(session: Session) -> list[tuple[int, str, dict, str]]:
    return [(r.id, r.fingerprint, r.labels, r.state) for r in
            session.execute(select(Alert.id, Alert.fingerprint, Alert.labels, Alert.state).where(Alert.status == "firing"))]


def create_silence(session: Session, *, data: SilenceCreate, actor: Actor) -> SilenceRead:
    """Silence alerts matching every matcher from starts_at (default now) until ends_at.

    Permission `silence.create`: a team-scoped user may only silence with a `service="..."`
    matcher naming one of their team's services (checked by the caller's grants). Firing
    alerts it matches are marked silenced at once. Audited. Does not commit."""
    now = clock.utcnow()
    starts = data.starts_at or now
    ends = data.ends_at or starts + data.duration
    if ends <= starts:
        raise InvalidInput(f"the silence would end ({ends:%Y-%m-%d %H:%M}) before it starts ({starts:%Y-%m-%d %H:%M}); pick a later end",
                           field="ends_at")
    if ends <= now:
        raise InvalidInput("the silence would already be over; pick an end in the future", field="ends_at")
    matchers = parse_matchers(data.matchers)
    service = next((m.value for m in matchers if m.name == "service" and m.op == "="), None)
    require(actor, "silence.create", service=service, team=_team_of(session, service))
    if all(m.matches({}) for m in matchers):
        raise InvalidInput("these matchers also match an alert with no labels at all, so they would silence everything; "
                           "add at least one matcher that needs a label value", field="matchers")
    row = Silence(matchers=[str(m) for m in matchers], starts_at=starts, ends_at=ends, created_by=actor.name,
                  comment=data.comment, created_at=now)
    session.add(row)
    session.flush()
    matched = 0
    if starts <= now:
        matched = _mark(session, row, matchers, now)
    audit.record(session, actor=actor, action="silence.create", target=f"silence:{row.id}",
                 after={"matchers": row.matchers, "starts_at": starts, "ends_at": ends, "comment": data.comment})
    return _read(row, now, matched)


def _team_of(session: Session, service: str | None) -> str | None:
    if not service:
        return None
    from watchkeeper.catalog import service as catalog

    svc = catalog.find_service(session, name=service)
    return svc.team if svc else None


def _mark(session: Session, row: Silence, matchers: tuple[Matcher, ...], now: dt.datetime) -> int:
    count = 0
    for alert_id, _fp, labels, state in _firing(session):
        if state == "active" and matches_all(matchers, labels):
            session.execute(Alert.__table__.update().where(Alert.id == alert_id)
                            .values(state="silenced", state_reason=_reason(row).message, state_ref=f"silence:{row.id}"))
            session.add(AlertEvent(alert_id=alert_id, at=now, kind="silenced", actor=row.created_by,
                                   detail={"ref": f"silence:{row.id}", "message": _reason(row).message}))
            count += 1
    session.flush()
    return count


def expire_silence(session: Session, *, silence_id: int, actor: Actor) -> SilenceRead:
    """End a silence now. Alerts it silenced become active again (and notify on the next
    flush). Raises Conflict if it already ended. Audited. Does not commit."""
    row = session.get(Silence, silence_id)
    if row is None:
        raise NotFound(f"no silence with id {silence_id}; `watchkeeper silence list` shows them", code="silence.not_found")
    matchers = parse_stored_matchers(row.matchers, owner=f"silence:{row.id}") or ()
    service = next((m.value for m in matchers if m.name == "service" and m.op == "="), None)
    require(actor, "silence.expire", service=service, team=_team_of(session, service))
    now = clock.utcnow()
    if row.ends_at <= now:
        raise Conflict(f"silence {silence_id} already ended at {row.ends_at:%Y-%m-%d %H:%M} UTC", code="silence.expired")
    before = {"ends_at": row.ends_at}
    row.ends_at, row.expired_by = now, actor.name
    session.flush()
    ref = f"silence:{row.id}"
    woken = []
    for r in session.execute(select(Alert.id).where(Alert.status == "firing", Alert.state_ref == ref)):
        woken.append(r.id)
    if woken:
        session.execute(Alert.__table__.update().where(Alert.id.in_(woken)).values(state="active", state_reason=None, state_ref=None))
        session.execute(AlertEvent.__table__.insert(), [
            {"alert_id": a, "at": now, "kind": "active", "actor": actor.name, "detail": {"ref": ref, "message": "silence expired"}}
            for a in woken])
        from watchkeeper.alerting.ingest import schedule_groups

        schedule_groups(session, join={}, woken=woken, now=now)
    audit.record(session, actor=actor, action="silence.expire", target=f"silence:{row.id}", before=before, after={"ends_at": now})
    return _read(row, now)


def get_silence(session: Session, *, silence_id: int, actor: Actor) -> SilenceRead:
    """Raises NotFound, PermissionDenied."""
    require(actor, "silence.read")
    row = session.get(Silence, silence_id)
    if row is None:
        raise NotFound(f"no silence with id {silence_id}", code="silence.not_found")
    return _read(row, clock.utcnow())


def list_silences(session: Session, *, actor: Actor, include_expired: bool = False, limit: int = 500) -> list[SilenceRead]:
    """Active and pending silences (expired too with `include_expired`). Raises PermissionDenied."""
    require(actor, "silence.read")
    now = clock.utcnow()
    query = select(Silence).order_by(Silence.ends_at.desc()).limit(limit)
    if not include_expired:
        query = query.where(Silence.ends_at > now)
    rows = list(session.execute(query).scalars())
    firing = _firing(session) if rows else []
    out = []
    for row in rows:
        matchers = parse_stored_matchers(row.matchers, owner=f"silence:{row.id}")
        matching = (sum(1 for _i, _f, labels, _s in firing if matches_all(matchers, labels))
                    if matchers is not None and _state(row, now) == "active" else 0)
        out.append(_read(row, now, matching))
    return out


def _reason(row: Silence) -> Reason:
    return Reason("silenced", f"silence:{row.id}", f"silenced by #{row.id} ({row.created_by}): {row.comment}"[:500])


class ActiveSilences:
    """The Suppressor over silences active at one instant."""

    def __init__(self, rows: list[Silence]):
        parsed = ((parse_stored_matchers(r.matchers, owner=f"silence:{r.id}"), r) for r in rows)
        self._items = [(matchers, r) for matchers, r in parsed if matchers is not None]

    def may_suppress(self, service: str | None) -> bool:
        return bool(self._items)

    def is_suppressed(self, labels: Mapping[str, str], *, fingerprint: str, at: dt.datetime) -> Reason | None:
        for matchers, row in self._items:
            if row.starts_at <= at < row.ends_at and matches_all(matchers, labels):
                return _reason(row)
        return None


def suppressor(session: Session, at: dt.datetime) -> ActiveSilences:
    rows = list(session.execute(select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at).order_by(Silence.id)).scalars())
    return ActiveSilences(rows)
