"""Blameless postmortems and their action items.

A postmortem (summary, impact, the incident's timeline embedded, root cause, contributing
factors, what went well, action items) is required for the severities in
`incidents.postmortems.required_for`, due `due_within` after the incident resolved; past that it
is overdue (flagged in reads and the weekly review).

An action item is **verified** only when it is done, linked to the deploy or change record that
fixed it (`change_ref`), and the incident's fingerprint (its services and alert names) has not
recurred for `verify_after` since it was done (`verify_due`, run by the worker). A recurrence — a
new incident with the same fingerprint — reopens the old incident's unverified items, links them
to the new incident, and says so on the new incident's timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.errors import Conflict, NotFound
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents import settings, timeline
from watchkeeper.incidents.models import ActionItem, AlertLink, Incident, Postmortem
from watchkeeper.incidents.schemas import (
    ActionItemCreate,
    ActionItemRead,
    ActionItemUpdate,
    PostmortemRead,
    PostmortemUpdate,
    Status,
)

FIELDS = ("summary", "impact", "root_cause", "contributing_factors", "went_well")


def _required(session: Session, row: Incident) -> bool:
    return row.severity in settings.postmortem_rules(session).required_for and not row.drill


def _items(session: Session, incident_id: int) -> list[ActionItemRead]:
    now = clock.utcnow()
    out = []
    for item in session.execute(select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(ActionItem.id)).scalars():
        read = ActionItemRead.model_validate(item)
        read.overdue = item.status in ("open", "reopened") and item.due_at is not None and item.due_at < now
        out.append(read)
    return out


def _read(session: Session, pm: Postmortem, actor: Actor) -> PostmortemRead:
    read = PostmortemRead.model_validate(pm)
    read.overdue = pm.status != "published" and pm.due_at is not None and pm.due_at < clock.utcnow()
    read.action_items = _items(session, pm.incident_id)
    read.timeline_markdown = incidents.export_markdown(session, incident_id=pm.incident_id, actor=actor)
    return read


def _pm(session: Session, incident_id: int) -> Postmortem:
    pm = session.execute(select(Postmortem).where(Postmortem.incident_id == incident_id)).scalar_one_or_none()
    if pm is None:
        raise NotFound(f"incident #{incident_id} has no postmortem yet; `watchkeeper incident postmortem {incident_id}` starts one",
                       code="incidents.postmortem_not_found")
    return pm


def _incident(session: Session, actor: Actor, permission: str, incident_id: int) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise incidents.IncidentNotFound(f"no incident #{incident_id}; `watchkeeper incident list` shows them")
    incidents.require_on(actor, permission, row)
    return row


def due_at(session: Session, row: Incident):
    """When the postmortem of `row` is due (None: not required or not resolved yet)."""
    if not _required(session, row) or row.resolved_at is None:
        return None
    return row.resolved_at + settings.postmortem_rules(session).due_within


def start_postmortem(session: Session, *, incident_id: int, actor: Actor) -> PostmortemRead:
    """Start the postmortem from the blameless template, prefilled from the incident. Permission
    `incident.update`. Audited."""
    row = _incident(session, actor, "incident.update", incident_id)
    if session.execute(select(Postmortem.id).where(Postmortem.incident_id == incident_id)).first():
        raise Conflict(f"incident #{incident_id} has a postmortem already; edit it", code="incidents.postmortem_exists")
    now = clock.utcnow()
    pm = Postmortem(incident_id=row.id, status="draft", summary=f"{row.title} ({row.severity}, {', '.join(row.services)})",
                    impact=row.impact, root_cause=None, contributing_factors=None, went_well=None, due_at=due_at(session, row),
                    created_by=actor.name, created_at=now, updated_at=now)
    session.add(pm)
    session.flush()
    timeline.add(session, row.id, kind="postmortem.started", who=actor.name, summary="Postmortem started", link=f"/incidents/{row.id}/postmortem")
    audit.record(session, actor=actor, action="incident.postmortem", target=f"incident:{row.id}", after={"status": "draft"})
    return _read(session, pm, actor)


def get_postmortem(session: Session, *, incident_id: int, actor: Actor) -> PostmortemRead:
    """The postmortem with the timeline embedded and its action items. Permission `incident.read`."""
    _incident(session, actor, "incident.read", incident_id)
    return _read(session, _pm(session, incident_id), actor)


def update_postmortem(session: Session, *, incident_id: int, data: PostmortemUpdate, actor: Actor) -> PostmortemRead:
    """Edit the sections (Markdown). Permission `incident.update`. Audited."""
    _incident(session, actor, "incident.update", incident_id)
    pm = _pm(session, incident_id)
    changed = {f: getattr(data, f) for f in FIELDS if getattr(data, f) is not None and getattr(data, f) != getattr(pm, f)}
    for field, value in changed.items():
        setattr(pm, field, value)
    pm.updated_at = clock.utcnow()
    session.flush()
    audit.record(session, actor=actor, action="incident.postmortem", target=f"incident:{incident_id}", after={"changed": sorted(changed)})
    return _read(session, pm, actor)


def publish_postmortem(session: Session, *, incident_id: int, actor: Actor) -> PostmortemRead:
    """Publish: the incident must be resolved and root cause written. Permission `incident.update`. Audited."""
    row = _incident(session, actor, "incident.update", incident_id)
    pm = _pm(session, incident_id)
    if row.status != Status.RESOLVED.value:
        raise Conflict(f"incident #{incident_id} is {row.status}; resolve it before publishing its postmortem", code="incidents.not_resolved")
    if not (pm.root_cause or "").strip():
        raise Conflict("write the root cause before publishing the postmortem", code="incidents.postmortem_incomplete")
    if pm.status == "published":
        raise Conflict(f"the postmortem of incident #{incident_id} is published already", code="incidents.postmortem_published")
    pm.status, pm.published_at, pm.updated_at = "published", clock.utcnow(), clock.utcnow()
    session.flush()
    timeline.add(session, row.id, kind="postmortem.published", who=actor.name, summary="Postmortem published",
                 link=f"/incidents/{row.id}/postmortem")
    audit.record(session, actor=actor, action="incident.postmortem_publish", target=f"incident:{incident_id}")
    return _read(session, pm, actor)


def list_postmortems(session: Session, *, actor: Actor, overdue_only: bool = False) -> list[PostmortemRead]:
    """Postmortems of incidents the actor may see. Permission `incident.read`."""
    require(actor, "incident.read")
    out = []
    for pm in session.execute(select(Postmortem).order_by(Postmortem.created_at.desc())).scalars():
        row = session.get(Incident, pm.incident_id)
        if not incidents.visible(actor, row):
            continue
        read = _read(session, pm, actor)
        if read.overdue or not overdue_only:
            out.append(read)
    return out


def add_action_item(session: Session, *, incident_id: int, data: ActionItemCreate, actor: Actor) -> ActionItemRead:
    """An action item of the incident's postmortem. Permission `incident.update`. Audited."""
    _incident(session, actor, "incident.update", incident_id)
    if data.owner:
        incidents.known_person(session, data.owner)
    item = ActionItem(incident_id=incident_id, title=data.title, owner=data.owner, due_at=data.due_at, status="open",
                      tracker_url=data.tracker_url, created_at=clock.utcnow())
    session.add(item)
    session.flush()
    audit.record(session, actor=actor, action="incident.action_item", target=f"incident:{incident_id}",
                 after={"item": item.id, "title": item.title})
    return ActionItemRead.model_validate(item)


def update_action_item(session: Session, *, item_id: int, data: ActionItemUpdate, actor: Actor) -> ActionItemRead:
    """Change an action item: owner, due date, tracker URL, the change that fixed it, done/open.
    Verified is never set by hand (verify_due decides). Permission `incident.update`. Audited."""
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"no action item {item_id}", code="incidents.action_item_not_found")
    _incident(session, actor, "incident.update", item.incident_id)
    before = {"status": item.status, "change_ref": item.change_ref}
    if data.owner:
        incidents.known_person(session, data.owner)
    for field in ("owner", "due_at", "tracker_url", "change_ref"):
        if getattr(data, field) is not None:
            setattr(item, field, getattr(data, field))
    if data.status == "done" and item.status != "done":
        item.status, item.done_at, item.verified_at = "done", clock.utcnow(), None
    elif data.status == "open":
        item.status, item.done_at, item.verified_at = "open", None, None
    session.flush()
    audit.record(session, actor=actor, action="incident.action_item", target=f"incident:{item.incident_id}",
                 before=before, after={"item": item.id, "status": item.status, "change_ref": item.change_ref})
    return ActionItemRead.model_validate(item)


# ---------------------------------------------------------------------------- recurrence and verification


def fingerprint(session: Session, row: Incident) -> tuple[frozenset[str], frozenset[str]]:
    """What identifies "the same failure": the affected services and the linked alert names."""
    names = session.execute(select(AlertLink.alertname).where(AlertLink.incident_id == row.id)).scalars()
    return frozenset(row.services or []), frozenset(names)


def _same(a: tuple[frozenset[str], frozenset[str]], b: tuple[frozenset[str], frozenset[str]]) -> bool:
    return bool(a[0] & b[0]) and (bool(a[1] & b[1]) if a[1] and b[1] else a[0] == b[0])


def check_recurrence(session: Session, row: Incident) -> list[int]:
    """A new incident recurring an older one whose action items are not verified: reopen them,
    link them to the new incident, and put it on the new incident's timeline. Returns the
    older incidents' ids."""
    if row.drill:
        return []
    mine = fingerprint(session, row)
    older = session.execute(select(Incident).join(ActionItem, ActionItem.incident_id == Incident.id)
                            .where(Incident.id != row.id, ActionItem.status.in_(["open", "done", "reopened"]))
                            .distinct().order_by(Incident.id)).scalars().all()
    found = []
    for old in older:
        if not _same(mine, fingerprint(session, old)):
            continue
        items = session.execute(select(ActionItem).where(ActionItem.incident_id == old.id,
                                                         ActionItem.status.in_(["open", "done", "reopened"]))).scalars().all()
        for item in items:
            if item.recurrence_id == row.id:
                continue
            item.status, item.recurrence_id, item.verified_at = "reopened", row.id, None
        if items:
            found.append(old.id)
            timeline.add(session, row.id, kind="recurrence", summary=f"Recurrence of incident #{old.id}: its action items are reopened",
                         link=f"/incidents/{old.id}/postmortem", details={"incident": old.id, "items": [i.id for i in items]})
    session.flush()
    return found


def verify_due(session: Session) -> int:
    """Verify the done action items linked to a change whose incident has not recurred for
    `verify_after` (the worker's periodic job). Returns how many were verified."""
    wait = settings.postmortem_rules(session).verify_after
    now = clock.utcnow()
    count = 0
    for item in session.execute(select(ActionItem).where(ActionItem.status == "done", ActionItem.change_ref.is_not(None))).scalars():
        if item.done_at is None or item.done_at + wait > now:
            continue
        item.status, item.verified_at = "verified", now
        timeline.add(session, item.incident_id, kind="action_item.verified",
                     summary=f"Action item verified: {item.title} (fixed by {item.change_ref}, no recurrence since "
                             f"{item.done_at:%Y-%m-%d})", details={"item": item.id})
        count += 1
    session.flush()
    return count


def notify_overdue(session: Session) -> list[int]:
    """Tell the internal subscribers once about each required postmortem now overdue (unpublished
    past its due date, or never started): the worker's hourly job. Returns the incidents."""
    from watchkeeper.incidents import paging

    now = clock.utcnow()
    rules = settings.postmortem_rules(session)
    published = set(session.execute(select(Postmortem.incident_id).where(Postmortem.status == "published")).scalars())
    out = []
    for row in session.execute(select(Incident).where(Incident.resolved_at.is_not(None), Incident.drill.is_(False),
                                                      Incident.severity.in_(rules.required_for))).scalars():
        if row.id in published or row.resolved_at + rules.due_within > now:
            continue
        if paging.announce(session, row, what="Postmortem overdue", entry_id=0, key="postmortem-overdue"):
            out.append(row.id)
    return out
