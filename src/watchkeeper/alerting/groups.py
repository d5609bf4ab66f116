"""Flushing a group: decide what to say, suppress what must not be sent, write the outbox.

Runs as the worker job `alerting.flush` at the group's next_flush_at (every group_interval
while a member is suppressed, else at the repeat_interval). Under the group's row
lock it re-checks every firing alert against all suppressors (inhibition included), compares
what would be said with what was said last time (a hash of firing and resolved
fingerprints), and — when there is news, or the repeat interval has passed — renders one
message per receiver channel into the outbox, in the same transaction. The outbox rows'
idempotency keys contain the group id and its notification sequence number, so a flush that
runs twice cannot page twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.alerting import _timing, escalations, links, messages, routing, suppress
from watchkeeper.alerting.ingest import enqueue_flush
from watchkeeper.alerting.models import Alert, AlertEvent, AlertGroup, GroupMember
from watchkeeper.config import Settings
from watchkeeper.notify import service as notify

log = logging.getLogger(__name__)
MAX_LISTED = 50


@dataclasses.dataclass
class FlushResult:
    group_id: int
    notified: bool = False
    firing: int = 0
    resolved: int = 0
    suppressed: int = 0
    outbox_ids: list[int] = dataclasses.field(default_factory=list)
    skipped: str | None = None


def _alert_dict(a, settings: Settings, receiver: str) -> dict[str, Any]:
    def link(action: str) -> str:
        return links.url(settings, links.sign(settings, action=action, target=f"a:{a.id}", receiver=receiver))

    return {
        "id": a.id, "fingerprint": a.fingerprint, "status": a.status, "labels": dict(a.labels),
        "annotations": dict(a.annotations), "service": a.service, "severity": a.severity,
        "starts_at": a.starts_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "ends_at": a.ends_at.strftime("%Y-%m-%d %H:%M:%S UTC") if a.ends_at else None,
        "generator_url": a.generator_url, "url": f"{settings.public_url.rstrip('/')}/alerts/{a.id}",
        "links": {"ack": link("ack"), "noise": link("noise"), "actionable": link("actionable")},
    }


_MEMBER_COLUMNS = (Alert.id, Alert.fingerprint, Alert.status, Alert.state, Alert.state_ref, Alert.labels, Alert.annotations,
                   Alert.service, Alert.severity, Alert.starts_at, Alert.ends_at, Alert.generator_url, Alert.drill_id)


_LIGHT_COLUMNS = (Alert.id, Alert.fingerprint, Alert.status, Alert.state, Alert.state_ref, Alert.drill_id)


def _full(session: Session, alerts: list) -> list:
    """The listed alerts with every column (for the message), in the given order."""
    if not alerts or hasattr(alerts[0], "labels"):
        return alerts
    by_id = {r.id: r for r in session.execute(select(*_MEMBER_COLUMNS).where(Alert.id.in_([a.id for a in alerts])))}
    return [by_id[a.id] for a in alerts]


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def flush_group(session: Session, *, group_id: int, settings: Settings, force: bool = False) -> FlushResult:
    """Notify the group if it has news (or its repeat interval passed). Does not commit.

    Lock order is the one ingest uses — alert rows before the group row — and the group row is
    only written at the end, with a compare-and-set on its notification sequence: a flush that
    lost a race with another one sends nothing."""
    now = clock.utcnow()
    group = session.get(AlertGroup, group_id, populate_existing=True)
    result = FlushResult(group_id=group_id)
    if group is None:
        result.skipped = "group deleted"
        return result
    if not force and (group.next_flush_at is None or group.next_flush_at > now):
        result.skipped = "not due (rescheduled)"
        return result
    seq = group.notify_seq
    chain = suppress.Chain(session, now, ingest_only=False)
    # Large groups: labels are read only when some suppressor could apply to this service.
    needs_labels = chain.may_suppress(group.service)
    rows = session.execute(
        select(*(_MEMBER_COLUMNS if needs_labels else _LIGHT_COLUMNS), GroupMember.notified_status)
        .join(GroupMember, GroupMember.alert_id == Alert.id)
        .where(GroupMember.group_id == group.id).order_by(Alert.starts_at, Alert.id)
    ).all()
    firing, resolved, history, drop, state_changes = [], [], [], [], []
    for alert in rows:
        if alert.status == "firing":
            reason = chain.check(alert.labels, fingerprint=alert.fingerprint) if needs_labels else None
            state = reason.kind if reason else "active"
            if state != alert.state or (reason and reason.ref != alert.state_ref):
                state_changes.append({"b_id": alert.id, "b_state": state, "b_reason": reason.message if reason else None,
                                      "b_ref": reason.ref if reason else None})
                history.append({"alert_id": alert.id, "at": now, "kind": state, "actor": None,
                                "detail": {"ref": reason.ref, "message": reason.message} if reason else {"message": "no longer suppressed"}})
            if reason:
                result.suppressed += 1
            else:
                firing.append(alert)
        elif alert.notified_status == "firing" and group.send_resolved:
            resolved.append(alert)
        else:
            drop.append(alert.id)
    if state_changes:
        state_changes.sort(key=lambda r: r["b_id"])
        session.execute(update(Alert.__table__).where(Alert.__table__.c.id == bindparam("b_id"))
                        .values(state=bindparam("b_state"), state_reason=bindparam("b_reason"), state_ref=bindparam("b_ref")),
                        state_changes)
    result.firing, result.resolved = len(firing), len(resolved)
    new_hash = _timing.content_hash([a.fingerprint for a in firing], [a.fingerprint for a in resolved])
    notify_now = (force and bool(firing or resolved)) or _timing.should_notify(
        now=now, has_content=bool(firing or resolved), has_firing=bool(firing), new_hash=new_hash,
        last_hash=group.notified_hash, last_notified_at=group.last_notified_at,
        repeat_interval=dt.timedelta(seconds=group.repeat_interval_seconds),
    )
    values: dict[str, Any] = {}
    # A policy receiver pages people through on-call (escalations.py) instead of channels.
    by_policy = escalations.is_policy(group.receiver)
    policy, policy_error = escalations.policy_for(session, group.receiver, group.service) if by_policy and firing else (None, None)
    if notify_now:
        if by_policy:
            channels = None
            if policy_error:
                values["last_error"] = policy_error
                log.warning("group cannot page anyone", extra={"group_id": group.id, "receiver": group.receiver})
            else:
                values.update(notify_seq=seq + 1, last_error=None)
                result.notified = True
        else:
            channels = routing.receiver_channels(session, group.receiver) if group.receiver else None
            if not channels:
                values["last_error"] = (f"receiver '{group.receiver}' is not defined" if group.receiver
                                        else "no receiver is configured; add alerting.receivers and route.receiver to watchkeeper.yaml")
                log.warning("group has nowhere to send", extra={"group_id": group.id, "receiver": group.receiver})
            else:
                values.update(notify_seq=seq + 1, last_error=None)
                result.notified = True
        values.update(last_notified_at=now, notified_hash=new_hash)
        newly = [a for a in firing if a.notified_status != "firing"] + resolved
        for a in newly:  # history records what each alert was announced as; repeats add nothing
            history.append({"alert_id": a.id, "at": now, "kind": "notified", "actor": None,
                            "detail": {"receiver": group.receiver, "group_id": group.id, "seq": values.get("notify_seq", seq),
                                       "as": a.status, "sent": result.notified}})
        for chunk in _chunks([a.id for a in firing if a.notified_status != "firing"]):
            session.execute(update(GroupMember).where(GroupMember.group_id == group.id, GroupMember.alert_id.in_(chunk))
                            .values(notified_status="firing").execution_options(synchronize_session=False))
        drop.extend(a.id for a in resolved)
    for chunk in _chunks(drop):
        session.execute(delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.alert_id.in_(chunk))
                        .execution_options(synchronize_session=False))
    if history:
        session.execute(AlertEvent.__table__.insert(), history)
    last_notified = values.get("last_notified_at", group.last_notified_at)
    if any(a.status == "firing" for a in rows):
        nxt = max((last_notified or now) + dt.timedelta(seconds=group.repeat_interval_seconds), now + dt.timedelta(seconds=1))
        if result.suppressed:
            # Alertmanager re-applies silences and inhibition at every group_interval flush: when a
            # suppression ends (a silence runs out, an inhibiting alert resolves, possibly in
            # another group), the alert pages at the next group_interval, not the repeat_interval.
            nxt = min(nxt, now + dt.timedelta(seconds=max(group.group_interval_seconds, 1)))
        values["next_flush_at"] = nxt
    else:
        values["next_flush_at"] = None
    won = session.execute(update(AlertGroup).where(AlertGroup.id == group.id, AlertGroup.notify_seq == seq).values(**values)
                          .execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        log.info("another flush of this group won the race; nothing sent", extra={"group_id": group.id})
        result.notified, result.skipped = False, "concurrent flush"
        return result
    if by_policy:
        if firing and policy:
            escalations.page(session, group, policy, firing, settings)  # a no-op while one is open
        elif not firing:
            escalations.end(session, group.id, "no alert of the group fires any more (resolved, silenced or inhibited)")
    elif result.notified:
        result.outbox_ids = _enqueue(session, group, seq + 1, firing, resolved, channels, settings)
    if values["next_flush_at"] is not None:
        enqueue_flush(session, group_id=group.id, at=values["next_flush_at"])
    session.expire(group)
    return result


def _enqueue(session: Session, group: AlertGroup, seq: int, firing: list, resolved: list,
             channels: list[dict[str, Any]], settings: Settings) -> list[int]:
    receiver = group.receiver

    def glink(action: str) -> str:
        return links.url(settings, links.sign(settings, action=action, target=f"g:{group.id}", receiver=receiver))

    # A message lists at most MAX_LISTED alerts of each kind; the counts say how many there are.
    fa = [_alert_dict(a, settings, receiver) for a in _full(session, firing[:MAX_LISTED])]
    ra = [_alert_dict(a, settings, receiver) for a in _full(session, resolved[:MAX_LISTED])]
    status = "firing" if firing else "resolved"
    counts = {"firing": len(firing), "resolved": len(resolved)}
    group_links = {"ack": glink("ack"), "resolve": glink("resolve"),
                   "group": f"{settings.public_url.rstrip('/')}/alerts?group={group.id}"}
    data = {
        "version": "1", "status": status, "receiver": receiver, "group_id": group.id, "group_key": group.key,
        "group_labels": group.group_labels, "sequence": seq, "counts": counts,
        "alerts": [{k: v for k, v in a.items() if k != "links"} | {"ack_url": a["links"]["ack"]} for a in fa + ra],
        "links": group_links,
    }
    context = {
        "status": status, "receiver": receiver, "group_id": group.id, "group_labels": group.group_labels,
        "service": group.service, "drill": any(a.drill_id for a in firing + resolved), "firing": fa, "resolved": ra,
        "alerts": fa + ra, "links": group_links, "data": data, "counts": counts,
    }
    message = messages.render(context)
    policy = routing.load(session).delivery
    out = []
    for index, channel in enumerate(channels):
        outbox_id = notify.enqueue(
            session, key=f"alerting:g{group.id}:n{seq}:c{index}", receiver=receiver, channel=channel,
            message=message, ref=f"group:{group.id}", policy=policy,
        )
        if outbox_id is not None:
            out.append(outbox_id)
    return out


def groups_of_alert(session: Session, *, alert_id: int) -> list[int]:
    """Group ids the alert is (or was, per the notifications' refs) a member of."""
    ids = set(session.execute(select(GroupMember.group_id).where(GroupMember.alert_id == alert_id)).scalars())
    for event in session.execute(select(AlertEvent.detail).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "notified")).scalars():
        if event and event.get("group_id"):
            ids.add(int(event["group_id"]))
    return sorted(ids)
