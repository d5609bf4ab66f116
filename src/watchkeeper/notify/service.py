"""Public functions of notify: put messages in the outbox, inspect it, retry a dead letter.

`enqueue` runs in the caller's transaction, so a notification exists exactly when the change
that caused it commits (the transactional outbox). Delivery happens later, in the worker
(`delivery.py`), which claims each row with a lease before it sends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.errors import Conflict, NotFound
from watchkeeper.notify.models import Attempt, Outbox
from watchkeeper.notify.schemas import CHANNEL_ADAPTER, AttemptRead, Message, OutboxFilter, OutboxRead, OutboxStatus, RetryPolicy
from watchkeeper.queue import service as queue

DELIVER_JOB = "notify.deliver"


def enqueue(
    session: Session, *, key: str, receiver: str, channel: dict[str, Any], message: Message,
    ref: str | None = None, policy: RetryPolicy | None = None,
) -> int | None:
    """Write one outbox row (and queue its delivery job) in the caller's transaction.

    `key` is the idempotency key: a second enqueue with the same key is a no-op returning None,
    so a retried flush can never produce a second page. Does not commit.
    """
    if session.execute(select(Outbox.id).where(Outbox.idempotency_key == key)).first():
        return None
    settings = CHANNEL_ADAPTER.validate_python(channel)
    policy = policy or RetryPolicy()
    now = clock.utcnow()
    row = Outbox(
        idempotency_key=key, ref=ref, receiver=receiver, channel_kind=settings.type,
        channel=settings.model_dump(mode="json", by_alias=True), message=message.model_dump(mode="json"),
        status=OutboxStatus.PENDING.value, attempts=0, max_attempts=policy.max_attempts, next_attempt_at=now, created_at=now,
        backoff_base_seconds=policy.backoff_base.total_seconds(), backoff_max_seconds=policy.backoff_max.total_seconds(),
    )
    session.add(row)
    session.flush()
    queue.enqueue(session, kind=DELIVER_JOB, payload={"outbox_id": row.id}, dedupe_key=f"{DELIVER_JOB}:{row.id}:0", max_attempts=3)
    return row.id


def _read(row: Outbox, attempts: list[Attempt] | None = None) -> OutboxRead:
    read = OutboxRead.model_validate(row)
    read.subject = (row.message or {}).get("subject", "")
    if attempts is not None:
        read.history = [AttemptRead.model_validate(a) for a in attempts]
    return read


def list_outbox(session: Session, *, filter: OutboxFilter, actor: Actor, with_attempts: bool = False) -> list[OutboxRead]:
    """The outbox, newest first, for an actor who may read alerts. Raises PermissionDenied."""
    require(actor, "alert.read")
    query = select(Outbox).order_by(Outbox.id.desc()).limit(filter.limit)
    if filter.status:
        query = query.where(Outbox.status == filter.status.value)
    if filter.ref:
        query = query.where(Outbox.ref == filter.ref)
    rows = list(session.execute(query).scalars())
    if not with_attempts or not rows:
        return [_read(r) for r in rows]
    by_row: dict[int, list[Attempt]] = {r.id: [] for r in rows}
    for a in session.execute(select(Attempt).where(Attempt.outbox_id.in_(by_row)).order_by(Attempt.number)).scalars():
        by_row[a.outbox_id].append(a)
    return [_read(r, by_row[r.id]) for r in rows]


def for_refs(session: Session, *, refs: list[str]) -> list[OutboxRead]:
    """Every notification (with its attempts) for these refs, newest first."""
    if not refs:
        return []
    rows = list(session.execute(select(Outbox).where(Outbox.ref.in_(refs)).order_by(Outbox.id.desc()).limit(200)).scalars())
    by_row: dict[int, list[Attempt]] = {r.id: [] for r in rows}
    if rows:
        for a in session.execute(select(Attempt).where(Attempt.outbox_id.in_(by_row)).order_by(Attempt.number)).scalars():
            by_row[a.outbox_id].append(a)
    return [_read(r, by_row[r.id]) for r in rows]


def get_outbox(session: Session, *, outbox_id: int, actor: Actor) -> OutboxRead:
    """One notification with every delivery attempt. Raises NotFound, PermissionDenied."""
    require(actor, "alert.read")
    return lookup_outbox(session, outbox_id=outbox_id)


def lookup_outbox(session: Session, *, outbox_id: int) -> OutboxRead:
    """One notification, for a service function that checks its own permission on what the
    notification is about (no check here). Raises NotFound."""
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise NotFound(f"no notification with id {outbox_id}; `watchkeeper alert notifications` lists them", code="notification.not_found")
    attempts = list(session.execute(select(Attempt).where(Attempt.outbox_id == row.id).order_by(Attempt.number)).scalars())
    return _read(row, attempts)


def retry(session: Session, *, outbox_id: int, actor: Actor, team: str | None = None, service: str | None = None) -> OutboxRead:
    """Give a dead or unconfirmed notification one more attempt now. Permission `alert.notify`
    (for the team/service the caller names). Audited. Does not commit.

    Raises Conflict when it is pending, sending or already sent."""
    require(actor, "alert.notify", team=team, service=service)
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise NotFound(f"no notification with id {outbox_id}", code="notification.not_found")
    if row.status not in (OutboxStatus.DEAD.value, OutboxStatus.UNCONFIRMED.value):
        raise Conflict(f"notification {outbox_id} is {row.status}; only dead or unconfirmed ones can be retried",
                       code="notification.not_retryable")
    before = row.status
    now = clock.utcnow()
    row.status, row.next_attempt_at, row.max_attempts = OutboxStatus.PENDING.value, now, row.attempts + 1
    if before == OutboxStatus.UNCONFIRMED.value:
        row.possible_duplicate = True  # the earlier attempt may have arrived
    session.flush()
    queue.enqueue(session, kind=DELIVER_JOB, payload={"outbox_id": row.id},
                  dedupe_key=f"{DELIVER_JOB}:{row.id}:{row.attempts}:manual", max_attempts=3)
    audit.record(session, actor=actor, action="notification.retry", target=f"notification:{outbox_id}",
                 before={"status": before}, after={"status": row.status})
    return _read(row)


def counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())


def oldest_pending_age(session: Session) -> dt.timedelta | None:
    oldest = session.execute(select(func.min(Outbox.created_at)).where(Outbox.status == OutboxStatus.PENDING.value)).scalar()
    return clock.utcnow() - clock.ensure_aware(oldest) if oldest else None
