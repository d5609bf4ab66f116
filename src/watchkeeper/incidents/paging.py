"""Paging for an incident, behind one function so the on-call domain's escalation policies can
take over later (the on-call helper is building escalation execution; when it lands, `page`
asks it to run the service's policy instead).

Today: an incident opened from an alert was paged by that alert's route already, so the
timeline records "paged via alert route". An incident declared by hand (or raised to a paging
severity) is paged through the notify outbox to every receiver the alert route tree picks for
a critical alert on each affected service; when no route reaches a receiver the timeline says
nobody was paged."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.incidents import timeline
from watchkeeper.incidents.models import Incident

_ROUTER = Actor.system("incidents", "system")
log = logging.getLogger(__name__)


def page(session: Session, row: Incident, *, by: Actor, reason: str, alertname: str | None = None) -> str:
    """Page whoever is on call for the incident's services. Returns the timeline summary."""
    from watchkeeper.alerting import routing
    from watchkeeper.alerting import service as alerting
    from watchkeeper.notify import service as notify
    from watchkeeper.notify.schemas import Message

    if alertname is not None:
        summary = f"Paged via the alert route of {alertname} ({reason})"
        timeline.add(session, row.id, kind="paged", who=None, summary=summary, details={"via": "alert_route", "reason": reason})
        return summary
    tag = "[DRILL] " if row.drill else ""
    message = Message(
        subject=f"{tag}[{row.severity}] Incident #{row.id}: {row.title}",
        text=f"{tag}{row.severity} incident #{row.id} on {', '.join(row.services)}: {row.title}\nStatus: {row.status}\n"
             f"Open /incidents/{row.id} to acknowledge.",
        short=f"{tag}{row.severity} #{row.id} {row.title}",
        data={"incident": row.id, "severity": row.severity, "services": row.services, "status": row.status, "drill": row.drill},
    )
    receivers: list[str] = []
    for service in row.services:
        labels = {"alertname": f"Incident{row.severity}", "service": service, "severity": "critical", "team": row.team}
        for route in alerting.explain_route(session, labels=labels, actor=_ROUTER).routes:
            name = route.get("receiver")
            if not name or name in receivers:
                continue
            receivers.append(name)
            for i, channel in enumerate(routing.receiver_channels(session, name) or []):
                notify.enqueue(session, key=f"incident:{row.id}:page:{reason}:{name}:{i}:{row.updated_at.isoformat()}",
                               receiver=name, channel=channel, message=message, ref=f"incident:{row.id}")
    if receivers:
        summary = f"Paged {', '.join(receivers)} ({reason})"
    else:
        summary = f"Nobody was paged ({reason}): no alert route reaches a receiver for {', '.join(row.services)}"
    timeline.add(session, row.id, kind="paged", who=by.name, summary=summary,
                 details={"via": "notify", "receivers": receivers, "reason": reason})
    return summary


def _send(session: Session, receivers: list[str], *, key: str, message, ref: str) -> list[str]:
    from watchkeeper.alerting import routing
    from watchkeeper.notify import service as notify

    sent = []
    for name in receivers:
        channels = routing.receiver_channels(session, name)
        if channels is None:
            log.warning("incidents.notify names an unknown receiver", extra={"receiver": name})
            continue
        for i, channel in enumerate(channels):
            notify.enqueue(session, key=f"{key}:{name}:{i}", receiver=name, channel=channel, message=message, ref=ref)
        sent.append(name)
    return sent


def announce(session: Session, row: Incident, *, what: str, entry_id: int, body: str | None = None,
             key: str | None = None) -> list[str]:
    """Tell the internal subscribers (incidents.notify.receivers) of a change: declared, a
    status change, a status update. Internal: goes to receivers, never to the status page."""
    from watchkeeper.incidents import settings
    from watchkeeper.notify.schemas import Message

    receivers = settings.notify_rules(session).receivers
    if not receivers:
        return []
    tag = "[DRILL] " if row.drill else ""
    text = f"{tag}{row.severity} incident #{row.id} on {', '.join(row.services)}: {row.title}\n{what}\nStatus: {row.status}"
    if body:
        text += f"\n\n{body}"
    message = Message(subject=f"{tag}[{row.severity}] #{row.id} {row.title}: {what}"[:300], text=text,
                      short=f"{tag}#{row.id} {what}"[:300],
                      data={"incident": row.id, "severity": row.severity, "status": row.status, "what": what, "drill": row.drill})
    return _send(session, receivers, key=f"incident:{row.id}:{key or f'announce:{entry_id}'}", message=message,
                 ref=f"incident:{row.id}")


def send_review(session: Session, *, week_key: str, subject: str, text: str) -> list[str]:
    """The weekly review to incidents.notify.review_receivers, once per week (idempotency key)."""
    from watchkeeper.incidents import settings
    from watchkeeper.notify.schemas import Message

    receivers = settings.notify_rules(session).review_receivers
    return _send(session, receivers, key=f"incident-review:{week_key}", message=Message(subject=subject, text=text),
                 ref=f"incident-review:{week_key}")
