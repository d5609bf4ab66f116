"""Reminders before a review expires: each owner of a document whose review is due within the
section's `remind_before` (or already overdue) gets one email per document and due date, through
the notify outbox (idempotency key runbook-review:PATH:DUE:OWNER, so the hourly job never sends
twice). An owner is a catalog person; their email contact method (or email) is used, and the
SMTP settings come from the `runbook-owners` receiver when the alerting config declares one
(else localhost:25)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.alerting import routing
from watchkeeper.catalog import teams
from watchkeeper.errors import NotFound
from watchkeeper.notify import service as notify
from watchkeeper.notify.schemas import Message
from watchkeeper.runbooks import service as runbooks

RECEIVER = "runbook-owners"


def _email(session: Session, handle: str) -> str | None:
    try:
        person = teams.lookup_person(session, handle=handle)
    except NotFound:
        return None
    for method in person.contact_methods:
        address = getattr(method, "address", None)
        if getattr(method, "kind", None) == "email" and address:
            return address
    return person.email


def due_soon(session: Session, *, now: dt.datetime | None = None) -> list[tuple[str, dt.date | None, list[str]]]:
    """(path, due date, owners) of documents whose review is due within remind_before or overdue."""
    settings = runbooks.settings_row(session)
    if settings is None:
        return []
    now = now or clock.utcnow()
    horizon = (now + dt.timedelta(seconds=settings.remind_before_seconds)).date()
    out = []
    for doc in runbooks.documents_of(session):
        status = runbooks.review_status(session, doc, now=now)
        if status.review_due is None or status.review_due <= horizon:
            out.append((doc.path, status.review_due, list(doc.owners)))
    return out


def ask_reviewers(session: Session, *, path: str, reviewers: list[str], asked_by: str, note: str | None, review_id: int) -> int:
    """Email each reviewer (catalog person with an email; else the owners) that a review was asked for."""
    template = next((c for c in routing.receiver_channels(session, RECEIVER) or [] if c.get("type") == "email"), None)
    written = 0
    for handle in reviewers:
        address = _email(session, handle)
        if not address or handle == asked_by:
            continue
        message = Message(subject=f"Review asked: {path}",
                          text=f"{asked_by} asks you to review runbook '{path}'" + (f": {note}" if note else ".")
                               + f" Record it with `watchkeeper runbook review approve {path} --reviewer {handle}` or on "
                                 f"its page (/runbooks/view?path={path}).")
        if notify.enqueue(session, key=f"runbook-review-request:{review_id}:{handle[:60]}", receiver=RECEIVER,
                          channel={**(template or {}), "type": "email", "to": [address]}, message=message,
                          ref=f"runbook:{path[:200]}") is not None:
            written += 1
    return written


def send(session: Session, *, now: dt.datetime | None = None) -> int:
    """Write the reminder emails that are due; returns how many were written."""
    written = 0
    template = next((c for c in routing.receiver_channels(session, RECEIVER) or [] if c.get("type") == "email"), None)
    for path, due, owners in due_soon(session, now=now):
        for owner in owners:
            address = _email(session, owner)
            if not address:
                continue
            when = f"expires {due.isoformat()}" if due else "has never been reviewed"
            message = Message(subject=f"Runbook review due: {path}",
                              text=f"The review of runbook '{path}' {when}. Review it and record it with "
                                   f"`watchkeeper runbook review approve {path}` (someone other than its last author), "
                                   f"or ask for one with `watchkeeper runbook review request {path}`.")
            key = f"runbook-review:{hashlib.sha256(path.encode()).hexdigest()[:24]}:{due.isoformat() if due else 'never'}:{owner[:60]}"
            channel = {**(template or {}), "type": "email", "to": [address]}
            if notify.enqueue(session, key=key, receiver=RECEIVER, channel=channel,
                              message=message, ref=f"runbook:{path}") is not None:
                written += 1
    return written
