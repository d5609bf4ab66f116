"""Storing alerts: fingerprint, dedup, state transitions, history, groups — in bulk.

One call handles one batch (an API request, an Alertmanager webhook, one internal signal) in
the caller's transaction, so a 2xx is sent only once every alert of the batch is committed.
Rows are written with a handful of multi-row statements instead of one ORM object per alert:
ingest is the hot path (see bench/ingest.py).

Dedup rules, per fingerprint:
- new and firing → stored, history "fired", added to its groups, suppressors consulted;
- firing again while firing → the row is updated (annotations, ends_at, receive count);
- resolved while firing → "resolved", its groups notified of the resolution;
- firing while resolved → a new occurrence only if it started after the last one ended;
  otherwise it is a late retry of the old occurrence and is ignored;
- resolved while resolved → counted, nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.alerting import _bulk, _routing, _timing, routing, suppress
from watchkeeper.labels import fingerprint as fingerprint_of
from watchkeeper.alerting.events import AlertStatusChanged
from watchkeeper.alerting.models import Alert, AlertEvent, AlertGroup, GroupMember
from watchkeeper.alerting.schemas import AlertIn, IngestResult
from watchkeeper.db.engine import is_postgres
from watchkeeper.db.statements import dialect_insert
from watchkeeper.validation import link_problem
from watchkeeper.queue import service as queue

log = logging.getLogger(__name__)
FLUSH_JOB = "alerting.flush"
FIRING, RESOLVED = "firing", "resolved"


@dataclasses.dataclass
class Item:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    generator_url: str | None


def normalise(alerts: Iterable[AlertIn], *, now: dt.datetime) -> dict[str, Item]:
    """Fingerprint each alert; within one batch the last copy of a fingerprint wins."""
    out: dict[str, Item] = {}
    for a in alerts:
        status = a.status.value if a.status else (RESOLVED if a.ends_at is not None and a.ends_at <= now else FIRING)
        ends = a.ends_at if status == RESOLVED else None
        if status == RESOLVED and ends is None:
            ends = now
        starts = a.starts_at or now
        fp = fingerprint_of(a.labels)
        out[fp] = Item(fp, dict(a.labels), dict(a.annotations), status, starts, ends, _generator_url(a))
    return out


def _generator_url(a: AlertIn) -> str | None:
    """The alert's generatorURL if it may become a link. An unsafe one (`javascript:`, ...) is
    dropped with a logged reason rather than refusing the batch: Alertmanager retries a refused
    webhook forever, and the alert itself is still worth having."""
    url = a.generator_url
    if not url:
        return None
    problem = link_problem(url)
    if problem is None:
        return url
    log.warning("dropped the generatorURL of alert %r: %s", a.labels.get("alertname", "")[:100], problem)
    return None


_EXISTING_COLUMNS = (Alert.id, Alert.fingerprint, Alert.status, Alert.starts_at, Alert.ends_at, Alert.service, Alert.alertname,
                     Alert.severity)


def _existing(session: Session, fps: Sequence[str]) -> dict[str, Any]:
    if not fps:
        return {}
    fast = _bulk.existing(session, list(fps))
    if fast is not None:
        return {row.fingerprint: row for row in fast}
    query = select(*_EXISTING_COLUMNS).where(Alert.fingerprint.in_(fps)).order_by(Alert.id)
    if is_postgres(session):
        # Lock the rows so two writers repeating the same alert update it one after the other.
        # Lock order everywhere: alerts (by id) before groups; NO KEY so foreign-key checks of
        # inserted history and membership rows do not wait.
        query = query.with_for_update(key_share=True)
    return {row.fingerprint: row for row in session.execute(query)}


def store(session: Session, *, items: dict[str, Item], source: str | dict[str, str], now: dt.datetime | None = None,
          drill_id: int | None = None, outcomes: dict[str, str] | None = None) -> tuple[IngestResult, list[int]]:
    """Write a normalised batch. Returns the counts and the ids of alerts that started firing;
    `outcomes`, when given, receives fingerprint → created/updated/resolved/fired_again/
    unchanged (+ "suppressed:" prefix). `source` may map fingerprint → source (merged batches).
    Does not check permissions (callers do) and does not commit."""
    outcomes = outcomes if outcomes is not None else {}
    source_of = (lambda fp: source[fp]) if isinstance(source, dict) else (lambda fp: source)
    now = now or clock.utcnow()
    existing = _existing(session, list(items))
    new_items = sorted((it for fp, it in items.items() if fp not in existing), key=lambda it: it.fingerprint)
    inserted: dict[str, int] = {}
    chain: suppress.Chain | None = None
    counts = defaultdict(int)
    counts["received"] = len(items)
    history: list[dict[str, Any]] = []
    fired_ids: list[int] = []
    changed_events: list[AlertStatusChanged] = []

    def suppression(item: Item) -> suppress.Reason | None:
        nonlocal chain
        if chain is None:
            chain = suppress.Chain(session, now, ingest_only=True)
        return chain.check(item.labels, fingerprint=item.fingerprint)

    if new_items:
        rows = []
        reasons: dict[str, suppress.Reason | None] = {}
        for it in new_items:
            reason = suppression(it) if it.status == FIRING else None
            reasons[it.fingerprint] = reason
            rows.append({
                "fingerprint": it.fingerprint, "alertname": it.labels.get("alertname", "")[:200], "status": it.status,
                "state": reason.kind if reason else "active", "state_reason": reason.message if reason else None,
                "state_ref": reason.ref if reason else None,
                "labels": it.labels, "annotations": it.annotations, "source": source_of(it.fingerprint),
                "service": (it.labels.get("service") or None) and it.labels["service"][:100],
                "severity": (it.labels.get("severity") or None) and it.labels["severity"][:30],
                "generator_url": it.generator_url, "starts_at": it.starts_at, "ends_at": it.ends_at,
                "first_seen_at": now, "last_received_at": now, "receive_count": 1,
                "fired_count": 1 if it.status == FIRING else 0, "drill_id": drill_id,
            })
        inserted = _bulk.insert_alerts(session, rows)
        for it in new_items:
            alert_id = inserted.get(it.fingerprint)
            if alert_id is None:
                continue
            counts["created"] += 1
            outcomes[it.fingerprint] = "created"
            reason = reasons[it.fingerprint]
            history.append({"alert_id": alert_id, "at": now, "kind": "fired" if it.status == FIRING else "resolved",
                            "actor": None, "detail": {"source": source_of(it.fingerprint)}})
            if reason:
                counts["suppressed"] += 1
                outcomes[it.fingerprint] = "suppressed:created"
                history.append({"alert_id": alert_id, "at": now, "kind": reason.kind, "actor": None,
                                "detail": {"ref": reason.ref, "message": reason.message}})
            if it.status == FIRING:
                fired_ids.append(alert_id)
                changed_events.append(AlertStatusChanged(alert_id, it.fingerprint, it.labels.get("alertname", ""), FIRING,
                                                         it.labels.get("service"), it.labels.get("severity")))
        lost = [it.fingerprint for it in new_items if it.fingerprint not in inserted]
        if lost:  # inserted concurrently by another request: treat them as repeats
            existing.update(_existing(session, lost))

    repeats, resolves, refires = [], [], []
    for fp, it in items.items():
        row = existing.get(fp)
        if row is None or fp in inserted:
            continue
        if row.status == FIRING and it.status == FIRING:
            repeats.append({"b_id": row.id, "b_ann": it.annotations, "b_now": now})
            counts["updated"] += 1
            outcomes[fp] = "updated"
        elif row.status == FIRING and it.status == RESOLVED:
            resolves.append({"b_id": row.id, "b_ann": it.annotations, "b_now": now, "b_ends": it.ends_at})
            history.append({"alert_id": row.id, "at": now, "kind": "resolved", "actor": None, "detail": {"source": source_of(fp)}})
            changed_events.append(AlertStatusChanged(row.id, fp, row.alertname, RESOLVED, row.service, row.severity))
            counts["resolved"] += 1
            outcomes[fp] = "resolved"
        elif row.status == RESOLVED and it.status == FIRING and (row.ends_at is None or it.starts_at > row.ends_at):
            reason = suppression(it)
            refires.append({"b_id": row.id, "b_ann": it.annotations, "b_now": now, "b_starts": it.starts_at,
                            "b_state": reason.kind if reason else "active", "b_reason": reason.message if reason else None,
                            "b_ref": reason.ref if reason else None})
            history.append({"alert_id": row.id, "at": now, "kind": "fired", "actor": None, "detail": {"source": source_of(fp), "again": True}})
            outcomes[fp] = "fired_again"
            if reason:
                counts["suppressed"] += 1
                outcomes[fp] = "suppressed:fired_again"
                history.append({"alert_id": row.id, "at": now, "kind": reason.kind, "actor": None,
                                "detail": {"ref": reason.ref, "message": reason.message}})
            fired_ids.append(row.id)
            changed_events.append(AlertStatusChanged(row.id, fp, row.alertname, FIRING, row.service, row.severity))
            counts["fired_again"] += 1
        else:
            repeats.append({"b_id": row.id, "b_ann": it.annotations, "b_now": now})
            counts["unchanged"] += 1
            outcomes[fp] = "unchanged"

    table = Alert.__table__
    c = table.c
    if repeats:
        _bulk.update_repeats(session, repeats, now)
    if resolves:
        session.execute(
            update(table).where(c.id == bindparam("b_id"))
            .values(status=RESOLVED, annotations=bindparam("b_ann"), last_received_at=bindparam("b_now"),
                    ends_at=bindparam("b_ends"), receive_count=c.receive_count + 1),
            resolves,
        )
    if refires:
        session.execute(
            update(table).where(c.id == bindparam("b_id"))
            .values(status=FIRING, annotations=bindparam("b_ann"), last_received_at=bindparam("b_now"),
                    starts_at=bindparam("b_starts"), ends_at=None, state=bindparam("b_state"), state_reason=bindparam("b_reason"),
                    state_ref=bindparam("b_ref"),
                    receive_count=c.receive_count + 1, fired_count=c.fired_count + 1, acked_at=None, acked_by=None,
                    quality=None, quality_by=None),
            refires,
        )
    if history:
        _bulk.insert_events(session, history)

    # Groups: new occurrences join their routes' groups; resolutions wake the groups they are in.
    labels_by_id: dict[int, tuple[dict[str, str], str | None]] = {}
    for fp, alert_id in inserted.items():
        labels_by_id[alert_id] = (items[fp].labels, items[fp].labels.get("service"))
    if refires:
        # The fingerprint hashes every label, so the stored row's labels are the item's.
        fp_by_id = {row.id: fp for fp, row in existing.items()}
        for r in refires:
            fp = fp_by_id[r["b_id"]]
            labels_by_id[r["b_id"]] = (items[fp].labels, existing[fp].service)
    join = {aid: labels_by_id[aid] for aid in fired_ids}
    woken = [r["b_id"] for r in resolves]
    schedule_groups(session, join=join, woken=woken, now=now)
    for event in changed_events:
        events.publish(session, event)
    result = IngestResult(**{k: counts.get(k, 0) for k in IngestResult.model_fields})
    return result, fired_ids


def schedule_groups(session: Session, *, join: dict[int, tuple[dict[str, str], str | None]], woken: list[int],
                    now: dt.datetime) -> None:
    """Add alerts to their groups and (re)schedule the flush of every group that changed."""
    changed: dict[int, Any] = {}
    if join:
        loaded = routing.load(session)
        wanted: dict[str, tuple[_routing.Resolved, dict[str, str], str | None]] = {}
        members: list[tuple[str, int]] = []
        for alert_id, (labels, service) in join.items():
            for r in _routing.route(loaded.tree, labels):
                key = r.group_key(labels, service)
                wanted.setdefault(key, (r, r.group_labels(labels, service), service))
                members.append((key, alert_id))
        groups = _groups_by_key(session, list(wanted))
        missing = [k for k in wanted if k not in groups]
        if missing:
            rows = []
            for key in missing:
                r, glabels, service = wanted[key]
                rows.append({
                    "key": key, "route_path": r.path, "receiver": r.receiver or "", "group_labels": glabels,
                    "service": service, "group_wait_seconds": int(r.group_wait.total_seconds()),
                    "group_interval_seconds": int(r.group_interval.total_seconds()),
                    "repeat_interval_seconds": int(r.repeat_interval.total_seconds()), "send_resolved": r.send_resolved,
                    "created_at": now, "notify_seq": 0,
                })
            session.execute(dialect_insert(session, AlertGroup.__table__).on_conflict_do_nothing(index_elements=["key"]), rows)
            groups.update(_groups_by_key(session, missing))
        _bulk.insert_members(session, sorted({(groups[key].id, aid) for key, aid in members}), now)
        for key, _aid in members:
            changed[groups[key].id] = groups[key]
    if woken:
        rows = session.execute(
            select(*_GROUP_COLUMNS).join(GroupMember, GroupMember.group_id == AlertGroup.id).where(GroupMember.alert_id.in_(woken))
        )
        for g in rows:
            changed[g.id] = g
    for group_id in sorted(changed):  # one lock order for every writer
        _reschedule(session, changed[group_id], now)


_GROUP_COLUMNS = (AlertGroup.id, AlertGroup.key, AlertGroup.next_flush_at, AlertGroup.last_notified_at,
                  AlertGroup.group_wait_seconds, AlertGroup.group_interval_seconds)


def _groups_by_key(session: Session, keys: list[str]) -> dict[str, Any]:
    if not keys:
        return {}
    return {g.key: g for g in session.execute(select(*_GROUP_COLUMNS).where(AlertGroup.key.in_(keys)))}


def _reschedule(session: Session, group, now: dt.datetime) -> None:
    when = _timing.next_flush_after_change(
        now=now, scheduled=group.next_flush_at, last_notified_at=group.last_notified_at,
        group_wait=dt.timedelta(seconds=group.group_wait_seconds),
        group_interval=dt.timedelta(seconds=group.group_interval_seconds),
    )
    if group.next_flush_at == when:
        return
    session.execute(update(AlertGroup.__table__).where(AlertGroup.__table__.c.id == group.id).values(next_flush_at=when))
    enqueue_flush(session, group_id=group.id, at=when)


def enqueue_flush(session: Session, *, group_id: int, at: dt.datetime) -> None:
    queue.enqueue(session, kind=FLUSH_JOB, payload={"group_id": group_id}, run_after=at,
                  dedupe_key=f"{FLUSH_JOB}:{group_id}:{at.timestamp():.3f}", max_attempts=5)
