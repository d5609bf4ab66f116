"""Delivering outbox rows: a chain of small steps, each in its own short transaction.

    claim   conditional UPDATE pending → sending with a lease token (on PostgreSQL candidates
            come from FOR UPDATE SKIP LOCKED), and the attempt row written 'sending' at stage
            'claimed' — both committed BEFORE any network traffic, so "did the page go out?"
            is answerable;
    send    the channel talks to the outside world, outside any transaction, and reports its
            progress, each stage committed as it is reached: 'transmitting' right before the
            first byte the receiver could act on (SMTP: the DATA command), 'accepted' when the
            receiver confirmed (SMTP: 250 after the data);
    record  the attempt's outcome and the row's new state, conditional on our lease token;
    retry   a failed row goes back to pending with exponential backoff and a delivery job at
            that time, or to dead after its last attempt.

A worker that dies between claim and record leaves the row 'sending'. The claim names the
worker process (`owner`), so the worker liveness sweep finds such rows within seconds of the
death (`reclaim_orphans`; the 2-minute lease is the backstop). Recovery (`recover_interrupted`)
then goes by the stage the attempt had reached:

    claimed       nothing was handed over: certainly not delivered → sent again at once (not a
                  duplicate);
    accepted      the receiver confirmed: delivered → recorded as sent;
    transmitting  truly ambiguous (the receiver may or may not have it) → by the channel's
                  `guarantee`: at-least-once (the default; a lost page is worse than a repeat)
                  sends it again with the same Message-ID / Idempotency-Key and marks the row
                  `possible_duplicate`; at-most-once makes it 'unconfirmed' for a person.

An attempt without a stage (written before stages were recorded) counts as transmitting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.db.engine import is_postgres
from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress
from watchkeeper.notify.channels import CHANNELS, DeliveryError
from watchkeeper.notify.channels.base import Progress, no_progress
from watchkeeper.notify.models import Attempt, Outbox
from watchkeeper.notify.schemas import CHANNEL_ADAPTER, Message, OutboxStatus, RetryPolicy, SendStage
from watchkeeper.notify.service import DELIVER_JOB
from watchkeeper.queue import service as queue
from watchkeeper.queue.service import live_owners

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)

SessionFactory = Callable[[], Session]
SecretLookup = Callable[[str], "str | None"]


@dataclasses.dataclass(frozen=True)
class Claimed:
    outbox_id: int
    token: str
    attempt_id: int
    number: int
    key: str
    kind: str
    channel: dict
    message: dict
    repeat: bool = False  # sent again after an attempt of unknown outcome


@dataclasses.dataclass(frozen=True)
class Outcome:
    outbox_id: int
    status: str  # sent | retry | dead | skipped
    detail: str = ""


def _ready(now: dt.datetime):
    return (Outbox.status == OutboxStatus.PENDING.value) & (Outbox.next_attempt_at <= now)


def claim(session: Session, *, outbox_id: int, worker: str, owner: str | None = None) -> Claimed | None:
    """Take one ready row with a lease and write its 'sending' attempt. The caller commits
    before sending. None when the row is not ready (sent, leased elsewhere, not yet due).
    `owner`: the sending process's `worker_process` id (see worker/liveness.py)."""
    now = clock.utcnow()
    token = secrets.token_hex(16)
    res = session.execute(
        update(Outbox).where(Outbox.id == outbox_id, _ready(now))
        .values(status=OutboxStatus.SENDING.value, lease_token=token, lease_until=now + LEASE,
                claimed_by=worker, owner=owner, attempts=Outbox.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return None
    row = session.execute(
        select(Outbox.attempts, Outbox.idempotency_key, Outbox.channel_kind, Outbox.channel, Outbox.message,
               Outbox.possible_duplicate)
        .where(Outbox.id == outbox_id)
    ).one()
    attempt = Attempt(outbox_id=outbox_id, number=row.attempts, worker=worker, started_at=now, status="sending",
                      stage=SendStage.CLAIMED.value)
    session.add(attempt)
    session.flush()
    return Claimed(outbox_id, token, attempt.id, row.attempts, row.idempotency_key, row.channel_kind, row.channel, row.message,
                   bool(row.possible_duplicate))


def due_ids(session: Session, *, limit: int, overdue: dt.timedelta = dt.timedelta(0)) -> list[int]:
    """Ready rows (due at least `overdue` ago), oldest first; other workers' locked candidates
    are skipped on PostgreSQL."""
    query = select(Outbox.id).where(_ready(clock.utcnow() - overdue)).order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


class LeaseLost(Exception):
    """Our claim on an outbox row was taken back (we were presumed dead)."""


def progress_recorder(session_factory: SessionFactory, claimed: Claimed) -> Progress:
    """A channel's progress callback that commits each stage on the claimed attempt. Failing
    to record 'transmitting' stops the send (recovery must never take a message that may have
    gone out for one that certainly did not); failing to record 'accepted' only loses the
    certainty (recovery then treats the attempt as ambiguous)."""

    def record_stage(stage: str) -> None:
        try:
            with session_factory() as session:
                # Only while we still hold the row (locked, so recovery cannot take it between this
                # check and the commit): a worker presumed dead must not start transmitting a
                # message that recovery has already called unsent and handed out again.
                held = session.execute(select(Outbox.id).where(
                    Outbox.id == claimed.outbox_id, Outbox.lease_token == claimed.token,
                    Outbox.status == OutboxStatus.SENDING.value).with_for_update()).first()
                if held is None:
                    raise LeaseLost(f"notification {claimed.outbox_id} was taken over by another worker; not sending it")
                session.execute(update(Attempt).where(Attempt.id == claimed.attempt_id).values(stage=stage)
                                .execution_options(synchronize_session=False))
                session.commit()
        except Exception:
            if stage != SendStage.ACCEPTED.value:
                raise
            log.warning("could not record that the receiver accepted the message", extra={"outbox_id": claimed.outbox_id},
                        exc_info=True)

    return record_stage


def send(claimed: Claimed, *, secret: SecretLookup, progress: Progress = no_progress,
         egress: Egress = DEFAULT_EGRESS) -> tuple[bool, str, str | None, bool]:
    """Returns (ok, response, error, retryable). Never raises for a delivery problem."""
    channel = CHANNELS.get(claimed.kind)
    if channel is None:
        return False, "", f"no channel of kind '{claimed.kind}'", False
    try:
        settings = CHANNEL_ADAPTER.validate_python(claimed.channel)
        sent = channel.send(settings, Message.model_validate(claimed.message), key=claimed.key, secret=secret,
                            progress=progress, repeat=claimed.repeat, egress=egress)
    except DeliveryError as exc:
        return False, exc.response or "", str(exc), exc.retryable
    except Exception as exc:  # noqa: BLE001 - a channel bug must not kill the worker; it is recorded
        log.exception("channel raised", extra={"outbox_id": claimed.outbox_id, "channel": claimed.kind})
        return False, "", f"{type(exc).__name__}: {exc}", True
    return True, sent.response, None, False


def record(session: Session, claimed: Claimed, *, ok: bool, response: str, error: str | None, retryable: bool,
           latency_ms: float) -> Outcome:
    """Store the attempt's outcome; schedule the retry or declare the row dead."""
    now = clock.utcnow()
    row = session.get(Outbox, claimed.outbox_id, with_for_update=is_postgres(session), populate_existing=True)
    attempt = session.get(Attempt, claimed.attempt_id)
    if attempt is not None:
        attempt.finished_at, attempt.latency_ms = now, round(latency_ms, 2)
        attempt.status = "ok" if ok else "failed"
        attempt.response, attempt.error = (response or None) and response[:2000], error and error[:2000]
        attempt.retryable = None if ok else retryable
    if row is None or row.lease_token != claimed.token:
        log.warning("outbox lease lost before the outcome was recorded", extra={"outbox_id": claimed.outbox_id})
        return Outcome(claimed.outbox_id, "skipped", "lease lost")
    row.lease_token, row.lease_until = None, None
    if ok:
        row.status, row.sent_at, row.last_error = OutboxStatus.SENT.value, now, None
        session.flush()
        return Outcome(row.id, "sent", response)
    row.last_error = (error or "")[:2000]
    if not retryable or row.attempts >= row.max_attempts:
        row.status = OutboxStatus.DEAD.value
        session.flush()
        log.error("notification dead", extra={"outbox_id": row.id, "receiver": row.receiver, "attempts": row.attempts, "error": error})
        return Outcome(row.id, "dead", error or "")
    row.status = OutboxStatus.PENDING.value
    policy = RetryPolicy(max_attempts=row.max_attempts, backoff_base=dt.timedelta(seconds=row.backoff_base_seconds),
                         backoff_max=dt.timedelta(seconds=row.backoff_max_seconds))
    row.next_attempt_at = now + policy.delay(row.attempts)
    session.flush()
    queue.enqueue(session, kind=DELIVER_JOB, payload={"outbox_id": row.id}, run_after=row.next_attempt_at,
                  dedupe_key=f"{DELIVER_JOB}:{row.id}:{row.attempts}", max_attempts=3)
    log.warning("notification attempt failed; will retry",
                extra={"outbox_id": row.id, "attempt": row.attempts, "retry_at": row.next_attempt_at.isoformat(), "error": error})
    return Outcome(row.id, "retry", error or "")


def deliver(session_factory: SessionFactory, *, outbox_id: int, worker: str, secret: SecretLookup,
            owner: str | None = None, egress: Egress = DEFAULT_EGRESS) -> Outcome:
    """Run the chain for one row: claim (commit) → send → record (commit)."""
    with session_factory() as session:
        claimed = claim(session, outbox_id=outbox_id, worker=worker, owner=owner)
        session.commit()
    if claimed is None:
        return Outcome(outbox_id, "skipped", "not ready")
    return send_and_record(session_factory, claimed, secret=secret, egress=egress)


def send_and_record(session_factory: SessionFactory, claimed: Claimed, *, secret: SecretLookup,
                    egress: Egress = DEFAULT_EGRESS) -> Outcome:
    """Send a claimed row (recording its progress) and record the outcome (commit)."""
    start = time.perf_counter()
    ok, response, error, retryable = send(claimed, secret=secret, progress=progress_recorder(session_factory, claimed),
                                          egress=egress)
    latency = (time.perf_counter() - start) * 1000
    with session_factory() as session:
        outcome = record(session, claimed, ok=ok, response=response, error=error, retryable=retryable, latency_ms=latency)
        session.commit()
    return outcome


def reclaim_orphans(session: Session) -> dict[str, int]:
    """Rows being sent by a worker process that is no longer running: expire their lease now
    and recover them (below), instead of waiting out the lease. Does not commit."""
    now = clock.utcnow()
    session.execute(
        update(Outbox)
        .where(Outbox.status == OutboxStatus.SENDING.value, Outbox.owner.is_not(None), Outbox.owner.not_in(live_owners()),
               Outbox.lease_until >= now)
        .values(lease_until=now - dt.timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
    return recover_interrupted(session)


def recover_interrupted(session: Session) -> dict[str, int]:
    """Rows left 'sending' by a worker that died (lease expired, or expired by the liveness
    sweep): decide by how far the attempt got (see the module docstring). Does not commit."""
    now = clock.utcnow()
    query = (select(Outbox).where(Outbox.status == OutboxStatus.SENDING.value, Outbox.lease_until < now)
             .execution_options(populate_existing=True))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    out = {"resent": 0, "resent_possible_duplicate": 0, "unconfirmed": 0, "delivered": 0, "dead": 0}
    for row in session.execute(query).scalars():
        attempts = list(session.execute(select(Attempt).where(Attempt.outbox_id == row.id, Attempt.status == "sending")
                                        .order_by(Attempt.number.desc())).scalars())
        stage = attempts[0].stage if attempts else None
        for attempt in attempts[1:]:  # older attempts of a row claimed again meanwhile: outcome unknown
            attempt.status, attempt.finished_at = "unknown", now
        last = attempts[0] if attempts else None
        row.lease_token, row.lease_until = None, None
        if stage == SendStage.ACCEPTED.value:
            if last is not None:
                last.status, last.finished_at = "ok", now
                last.response = "accepted by the receiver; the worker stopped before it recorded this"
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT.value, now, None
            out["delivered"] += 1
            continue
        if stage == SendStage.CLAIMED.value:
            if last is not None:
                last.status, last.finished_at, last.retryable = "failed", now, True
                last.error = "the worker stopped before it handed the message over: not delivered, sent again"
            if row.attempts < row.max_attempts:
                _resend(session, row, now)
                out["resent"] += 1
            else:
                row.status = OutboxStatus.DEAD.value
                row.last_error = f"the worker stopped before sending, {row.attempts} times; retry notification {row.id} by hand"
                out["dead"] += 1
                log.error("notification dead", extra={"outbox_id": row.id, "receiver": row.receiver})
            continue
        if last is not None:
            last.status, last.finished_at = "unknown", now
            last.error = "the worker stopped during the exchange with the receiver; it may or may not have the message"
        guarantee = (row.channel or {}).get("guarantee", "at-least-once")
        if guarantee == "at-least-once" and row.attempts < row.max_attempts:
            row.possible_duplicate = True
            _resend(session, row, now)
            out["resent_possible_duplicate"] += 1
            log.warning("sending again a notification whose send was cut off; marked as a possible duplicate",
                        extra={"outbox_id": row.id, "receiver": row.receiver})
        else:
            row.status = OutboxStatus.UNCONFIRMED.value
            row.last_error = ("the worker stopped while sending; the message may or may not have gone out — "
                              f"check with the recipient, then retry notification {row.id} if it did not arrive")
            out["unconfirmed"] += 1
            log.error("notification outcome unknown", extra={"outbox_id": row.id, "receiver": row.receiver})
    session.flush()
    return out


def _resend(session: Session, row: Outbox, now: dt.datetime) -> None:
    row.status, row.next_attempt_at = OutboxStatus.PENDING.value, now
    queue.enqueue(session, kind=DELIVER_JOB, payload={"outbox_id": row.id},
                  dedupe_key=f"{DELIVER_JOB}:{row.id}:{row.attempts}:recover", max_attempts=3)
