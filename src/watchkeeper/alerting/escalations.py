"""Routes whose receiver is an escalation policy: alert groups page people through on-call.

A route's `receiver` names either a receiver (channels) or, unambiguously, an escalation
policy: `policy:NAME` (receiver names cannot contain ':'), or `service-default` (the policy of
the group's service, `oncall.policies[].services`; a receiver may not take that name). Such a
group is not mailed to channels; instead:

- its flush, when it has news and firing alerts and no open escalation, starts one
  (oncall/escalation.py pages level 1 at once, level 2 at level 1's timeout, ...); a repeat
  flush while one is open does nothing (the policy does its own repeating);
- acknowledging any of its alerts — the signed link of the page, the UI, the CLI, the API —
  acknowledges the escalation, which stops it;
- when none of its alerts fires any more (resolved, or all silenced/inhibited) the escalation
  is resolved; a later re-fire starts a new escalation.

On-call sits below alerting, so this module calls it; on-call never imports alerting.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper.alerting import links
from watchkeeper.alerting.models import Alert, AlertGroup, GroupMember
from watchkeeper.alerting.schemas import SERVICE_DEFAULT, is_policy_receiver
from watchkeeper.auth.service import Actor
from watchkeeper.config import Settings
from watchkeeper.errors import NotFound
from watchkeeper.oncall import escalation, policies

POLICY_PREFIX = "policy:"
SYSTEM = Actor.system("alerting", "worker")


def is_policy(receiver: str | None) -> bool:
    return bool(receiver) and is_policy_receiver(receiver)


def policy_for(session: Session, receiver: str, service: str | None) -> tuple[str | None, str | None]:
    """(policy name, None) or (None, why the group cannot page anyone)."""
    if receiver == SERVICE_DEFAULT:
        if not service:
            return None, "receiver service-default: the alert has no service label, so there is no service policy to use"
        policy = policies.policy_of(session, service=service)
        if policy is None:
            return None, (f"receiver service-default: service '{service}' has no escalation policy; "
                          "list it under an oncall.policies[].services")
        return policy.name, None
    name = receiver[len(POLICY_PREFIX):]
    try:
        policies.policy_by_name(session, name=name)
    except NotFound:
        return None, f"receiver {receiver}: no escalation policy named '{name}' (oncall.policies)"
    return name, None


def reaches_someone(session: Session, receiver: str, service: str | None) -> bool:
    return policy_for(session, receiver, service)[0] is not None


def page(session: Session, group: AlertGroup, policy: str, firing: list, settings: Settings) -> int | None:
    """Start the group's escalation unless one is open. Returns its id when started."""
    labels = dict(group.group_labels or {})
    name = labels.get("alertname") or "alerts"
    first = session.execute(select(Alert.severity, Alert.annotations).where(Alert.id == firing[0].id)).first() if firing else None
    said = str((first.annotations or {}).get("summary") or "")[:300] if first else ""
    summary = f"{name} firing" + (f" on {group.service}" if group.service else "") + \
        (f" ({len(firing)} alerts)" if len(firing) > 1 else "") + (f": {said}" if said else "")
    severity = labels.get("severity") or (first.severity if first else None)
    ack = links.url(settings, links.sign(settings, action="ack", target=f"g:{group.id}", receiver=group.receiver))
    started = escalation.start(session, ref=f"group:{group.id}", policy=policy, service=group.service, summary=summary,
                               severity=severity, ack_url=ack, actor=SYSTEM)
    return started.id if started else None


def end(session: Session, group_id: int, reason: str) -> None:
    escalation.resolve_refs(session, refs=[f"group:{group_id}"], actor=SYSTEM, reason=reason)


def on_ack(session: Session, *, alert_ids: list[int], group_id: int | None, actor: Actor, note: str | None) -> None:
    """Acknowledging alerts acknowledges the escalations of their groups."""
    if group_id is not None:
        ids = [group_id]
    elif alert_ids:
        ids = list(session.execute(select(GroupMember.group_id).where(GroupMember.alert_id.in_(alert_ids))).scalars())
    else:
        return
    refs = [f"group:{g}" for g in sorted(set(ids))]
    if escalation.open_for(session, refs=refs):
        escalation.acknowledge_refs(session, refs=refs, actor=actor, note=note)


def on_status_changed(session: Session, event) -> None:
    """Subscriber (AlertStatusChanged): when an alert resolves, the escalation of each of its
    groups with no firing alert left is resolved at once (not at the group's next flush)."""
    if event.status != "resolved":
        return
    groups = list(session.execute(select(GroupMember.group_id).where(GroupMember.alert_id == event.alert_id)).scalars())
    if not groups:
        return
    open_ = escalation.open_for(session, refs=[f"group:{g}" for g in groups])
    for ref in open_:
        group_id = int(ref.split(":", 1)[1])
        firing = session.execute(select(func.count()).select_from(GroupMember).join(Alert, Alert.id == GroupMember.alert_id)
                                 .where(GroupMember.group_id == group_id, Alert.status == "firing")).scalar()
        if not firing:
            end(session, group_id, "every alert of the group resolved")


def on_response_target_missed(session: Session, event) -> None:
    """Subscriber (oncall ResponseTargetMissed): flag the miss in the history of every alert of
    the group the escalation pages about (`watchkeeper alert show`, the alert page)."""
    if not event.ref.startswith("group:"):
        return
    from watchkeeper import clock
    from watchkeeper.alerting.models import AlertEvent

    group_id = int(event.ref.split(":", 1)[1])
    now = clock.utcnow()
    what = "acknowledged" if event.kind == "ack" else "resolved"
    for alert_id in session.execute(select(GroupMember.alert_id).where(GroupMember.group_id == group_id)
                                    .order_by(GroupMember.alert_id)).scalars():
        session.add(AlertEvent(alert_id=alert_id, at=now, kind="response_target_missed", actor=None, detail={
            "escalation_id": event.escalation_id, "target": event.kind, "target_seconds": event.target_seconds,
            "message": f"not {what} within {event.target_seconds} s (response target for severity "
                       f"{event.severity or 'default'})"}))
    session.flush()
