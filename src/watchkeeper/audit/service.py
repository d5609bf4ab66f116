"""Record, verify, checkpoint and export audit events."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import _chain
from watchkeeper.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from watchkeeper.audit import anchors as _anchors
from watchkeeper.audit.schemas import AuditEventRead, AuditFilter, VerifyReport
from watchkeeper.audit.signing import Signer, Verifier, checkpoint_message, head_message
from watchkeeper.errors import PermissionDenied

# session.info key under which a process's sessions carry its signer (a LazySigner; app.Container
# puts it there), so every event re-signs the chain head in the writer's own transaction.
SIGNER_INFO = "audit_signer"

SOURCES = {"api", "cli", "ui", "apply", "worker", "system"}


class ActorLike(Protocol):
    name: str
    id: int | None
    source: str


class Reader(Protocol):
    """Who browses the log: auth's Actor (audit cannot import auth, which records into audit)."""

    name: str

    def can(self, permission: str, *, team: str | None = None, service: str | None = None) -> bool: ...


def record(
    session: Session,
    *,
    actor: ActorLike,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
    note: str | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction. Does not commit.

    The head row is locked (FOR UPDATE on PostgreSQL; SQLite transactions are already
    serialised by BEGIN IMMEDIATE), so concurrent writers extend the chain one at a time.
    """
    if actor.source not in SOURCES:
        raise ValueError(f"unknown audit source {actor.source!r}")
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=_chain.GENESIS)
        session.add(head)
        session.flush()
    before_j, after_j = _chain.jsonable(before), _chain.jsonable(after)
    at = clock.utcnow()
    seq = head.seq + 1
    fields = _chain.event_fields(
        seq=seq, at=at, actor=actor.name, actor_id=actor.id, action=action, target=target,
        source=actor.source, before=before_j, after=after_j, note=note,
    )
    event = AuditEvent(
        seq=seq, at=at, actor=actor.name, actor_id=actor.id, action=action, target=target,
        source=actor.source, before=before_j, after=after_j, note=note,
        prev_hash=head.hash, hash=_chain.digest(head.hash, fields),
    )
    session.add(event)
    head.seq, head.hash = seq, event.hash
    lazy = session.info.get(SIGNER_INFO)
    signer = lazy.get() if lazy is not None else None
    head.key_id, head.signature = (signer.key_id, signer.sign(head_message(seq, event.hash))) if signer else (None, None)
    session.flush()
    return event


def diff(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Keep only the keys that changed, so audit rows show the change, not the whole object."""
    if before is None or after is None:
        return before, after
    keys = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return {k: before.get(k) for k in sorted(keys)}, {k: after.get(k) for k in sorted(keys)}


def chain_length(session: Session) -> int:
    head = session.get(AuditHead, 1)
    return head.seq if head else 0


def list_events(session: Session, *, filter: AuditFilter, actor: Reader) -> list[AuditEventRead]:
    """Audit events, newest first. The log records every team's changes, so only those holding
    `audit.read` globally (admins, auditors) may browse it. Raises PermissionDenied."""
    require_reader(actor)
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if filter.actor:
        query = query.where(AuditEvent.actor == filter.actor)
    if filter.action:
        query = query.where(AuditEvent.action.startswith(filter.action))
    if filter.target:
        query = query.where(AuditEvent.target.contains(filter.target))
    if filter.source:
        query = query.where(AuditEvent.source == filter.source)
    if filter.since:
        query = query.where(AuditEvent.at >= filter.since)
    if filter.until:
        query = query.where(AuditEvent.at < filter.until)
    if filter.before_seq:
        query = query.where(AuditEvent.seq < filter.before_seq)
    rows = session.execute(query.limit(filter.limit)).scalars()
    return [AuditEventRead.model_validate(row) for row in rows]


def require_reader(actor: Reader) -> None:
    """Raise PermissionDenied unless `actor` may read the whole audit log."""
    if not actor.can("audit.read"):
        raise PermissionDenied(
            f"{actor.name} may not read the audit log; it is for admins and auditors (ask an admin for the auditor role)",
            code="auth.forbidden",
        )


def _fields_of(row: AuditEvent) -> dict:
    return _chain.event_fields(
        seq=row.seq, at=row.at, actor=row.actor, actor_id=row.actor_id, action=row.action,
        target=row.target, source=row.source, before=row.before, after=row.after, note=row.note,
    )


def verify(session: Session, *, actor: Reader, keys: Verifier | None = None, signer: Signer | None = None,
           anchor_file: Path | None = None, batch: int = 5000) -> VerifyReport:
    """Walk the whole chain, its checkpoints, its signed head and (optionally) an external
    anchor file; report the first thing that does not hold. Only those who may read the whole
    log may verify it (raises PermissionDenied). docs/security.md, "Audit log integrity", says
    what each part proves.

    Without the database's signing key the chain's links are still checked, but the report is
    a failure unless `keys` (public keys given explicitly) can check the signatures: a chain
    recomputed by someone with database access looks intact to a hash check alone.
    """
    require_reader(actor)
    if signer is not None:
        keys = Verifier.of(signer).merged(keys)
    checkpoints = {
        cp.seq: cp for cp in session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()
    }
    anchored = {a["seq"]: a for a in (_anchors.read(anchor_file) if anchor_file else [])}
    prev_hash, expected_seq, checked, checked_cps = _chain.GENESIS, 1, 0, 0
    last_seq = 0
    prev_row_hash_ok = False
    while True:
        rows = list(
            session.execute(
                select(AuditEvent).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
            ).scalars()
        )
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return VerifyReport.broken(checked, expected_seq, f"event {expected_seq} is missing (next present is {row.seq}): rows were deleted")
            if row.prev_hash != prev_hash:
                if prev_row_hash_ok and _chain.matches(row.prev_hash, _fields_of(row), row.hash):
                    # The previous event matches a hash recomputed over its own fields, and this one
                    # still links to (and hashes over) the original: the previous one was rewritten.
                    return VerifyReport.broken(checked - 1, row.seq - 1,
                                               f"event {row.seq - 1} was rewritten and its hash recomputed "
                                               f"(event {row.seq} still links to the original)")
                return VerifyReport.broken(checked, row.seq, f"event {row.seq} does not link to event {row.seq - 1}: rows were reordered or replaced")
            if not _chain.matches(prev_hash, _fields_of(row), row.hash):
                return VerifyReport.broken(checked, row.seq, f"event {row.seq} ({row.action} on {row.target}) was edited after it was written")
            cp = checkpoints.get(row.seq)
            if cp is not None:
                if cp.hash != row.hash:
                    return VerifyReport.broken(checked, row.seq, f"checkpoint at event {row.seq} disagrees with the chain: the chain was rewritten")
                if keys is not None:
                    good = keys.check(cp.key_id, checkpoint_message(cp.seq, cp.hash), cp.signature)
                    if good is None:
                        return VerifyReport.broken(checked, row.seq, f"checkpoint at event {row.seq} is signed by key {cp.key_id}, "
                                                   "which is not a trusted key: pass its public key with --public-key if it is yours")
                    if not good:
                        return VerifyReport.broken(checked, row.seq, f"checkpoint at event {row.seq} has a bad signature")
                checked_cps += 1
            anchor = anchored.get(row.seq)
            if anchor is not None and anchor["hash"] != row.hash:
                return VerifyReport.broken(checked, row.seq, f"the anchor file (line {anchor['line']}) holds a different hash for "
                                           f"event {row.seq}: the chain was rewritten")
            prev_hash, expected_seq, checked, last_seq = row.hash, row.seq + 1, checked + 1, row.seq
            prev_row_hash_ok = True
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        return VerifyReport.broken(checked, last_seq + 1, f"the chain head says {head.seq} events but {last_seq} remain: the newest events were deleted")
    orphan = [seq for seq in checkpoints if seq > last_seq]
    if orphan:
        return VerifyReport.broken(checked, min(orphan), f"a checkpoint covers event {min(orphan)}, which no longer exists")
    beyond = [a for seq, a in anchored.items() if seq > last_seq]
    if beyond:
        first = min(beyond, key=lambda a: a["seq"])
        return VerifyReport.broken(checked, last_seq + 1, f"the anchor file (line {first['line']}) vouches for event {first['seq']}, "
                                   f"but the log ends at event {last_seq}: the newest events were deleted")
    last_cp = max(checkpoints, default=0)
    report = VerifyReport(ok=True, events_checked=checked, checkpoints_checked=checked_cps, anchors_checked=len(anchored),
                          signed_through=last_cp)
    if keys is None:
        return report.failed("the chain's links hold, but no key was given to check its signatures: the signing key "
                             "is missing here; pass the public key with --public-key (`watchkeeper audit public-key` prints it)")
    for a in anchored.values():
        good = keys.check(a["key_id"], checkpoint_message(a["seq"], a["hash"]), a["signature"])
        if not good:
            return report.failed(f"the anchor file's line {a['line']} is not signed by a trusted key: it cannot vouch for the log")
    if head is not None and last_seq > last_cp:
        if head.signature is None:
            return report.failed(f"events {last_cp + 1}–{last_seq} are covered by no signature (the head is unsigned; a process "
                                 "without the signing key wrote them): sign them with `watchkeeper audit checkpoint`")
        good = keys.check(head.key_id, head_message(head.seq, head.hash), head.signature)
        if good is None:
            return report.failed(f"the chain head is signed by key {head.key_id}, which is not a trusted key")
        if not good:
            return report.failed(f"the chain head's signature does not match event {head.seq}: events after checkpoint "
                                 f"{last_cp} were appended or removed without the signing key")
    return report.model_copy(update={"signed_through": last_seq})


def checkpoint(session: Session, *, signer: Signer, actor: Reader, anchor_file: Path | None = None,
               anchor_url: str | None = None) -> AuditCheckpoint | None:
    """Sign the current head, and copy the checkpoint to the external anchors when configured.
    Returns None when nothing was added since the last checkpoint. Needs `audit.checkpoint`
    (admins, auditors, the worker); raises PermissionDenied."""
    if not actor.can("audit.checkpoint"):
        raise PermissionDenied(f"{actor.name} may not sign audit checkpoints; ask an admin", code="auth.forbidden")
    head = session.get(AuditHead, 1)
    if head is None or head.seq == 0:
        return None
    last = session.execute(select(func.max(AuditCheckpoint.seq))).scalar()
    if last is not None and last >= head.seq:
        return None
    cp = AuditCheckpoint(
        seq=head.seq, hash=head.hash, at=clock.utcnow(), key_id=signer.key_id,
        signature=signer.sign(checkpoint_message(head.seq, head.hash)),
    )
    session.add(cp)
    session.flush()
    if anchor_file is not None or anchor_url:
        _anchors.publish(cp, file=anchor_file, url=anchor_url)
    return cp


def events_since_checkpoint(session: Session) -> int:
    last = session.execute(select(func.max(AuditCheckpoint.seq))).scalar() or 0
    return chain_length(session) - last


def export(session: Session, *, actor: Reader, since: dt.datetime | None = None, batch: int = 2000) -> Iterator[str]:
    """JSON lines, oldest first, each with its hash so a reader can re-verify the chain. Only
    those who may read the whole log may export it (raises PermissionDenied before any line)."""
    require_reader(actor)
    return _export_lines(session, since=since, batch=batch)


def _export_lines(session: Session, *, since: dt.datetime | None, batch: int) -> Iterator[str]:
    seq = 0
    while True:
        query = select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq).limit(batch)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        rows = list(session.execute(query).scalars())
        if not rows:
            return
        for row in rows:
            data = AuditEventRead.model_validate(row).model_dump(mode="json")
            yield json.dumps(data, sort_keys=True)
        seq = rows[-1].seq


__all__ = [
    "ActorLike", "record", "diff", "verify", "checkpoint", "export", "list_events", "chain_length",
    "events_since_checkpoint",
]
