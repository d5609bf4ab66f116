"""Issue 9 item 3: the audit chain cannot be rewritten, truncated or extended without the
signing key, and an external anchor catches even a rewrite by someone who holds the database.

Each test plays an attacker with full write access to the database (not to the key file)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from sqlalchemy import delete, select, text

from watchkeeper.audit import _chain
from watchkeeper.audit import service as audit
from watchkeeper.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from watchkeeper.audit.signing import LazySigner, Signer, Verifier, checkpoint_message
from watchkeeper.auth.service import Actor

ACTOR = Actor.system("tester", "cli")


def _signed(session, tmp_path) -> Signer:
    key = tmp_path / "audit-signing.pem"
    session.info[audit.SIGNER_INFO] = LazySigner(key)
    return Signer.load_or_create(key)


def _write(session, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.record(session, actor=ACTOR, action="thing.update", target=f"thing:{i}", after={"n": i})
    session.flush()


def _forge(session, *, seq: int, prev: str, **fields) -> str:
    """Insert an event with a correct hash, as an attacker who read _chain.py can."""
    base = dict(seq=seq, at=session.execute(select(AuditEvent.at).limit(1)).scalar(), actor="mallory", actor_id=None,
                action="user.grant", target="user:mallory", source="api", before=None, after={"role": "admin"}, note=None)
    base.update(fields)
    digest = _chain.digest(prev, _chain.event_fields(**base))
    session.add(AuditEvent(**base, prev_hash=prev, hash=digest))
    session.flush()
    return digest


def _recompute_from(session, seq: int) -> str:
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    prev = _chain.GENESIS if seq == 1 else next(r.hash for r in rows if r.seq == seq - 1)
    for row in rows:
        if row.seq < seq:
            continue
        fields = _chain.event_fields(seq=row.seq, at=row.at, actor=row.actor, actor_id=row.actor_id, action=row.action,
                                     target=row.target, source=row.source, before=row.before, after=row.after, note=row.note)
        row.prev_hash, row.hash = prev, _chain.digest(prev, fields)
        prev = row.hash
    session.flush()
    return prev


def _set_head(session, seq: int, hash_: str, *, keep_signature: bool = True) -> None:
    values = {"s": seq, "h": hash_}
    if keep_signature:
        session.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), values)
    else:
        session.execute(text("UPDATE audit_head SET seq = :s, hash = :h, signature = NULL, key_id = NULL"), values)
    session.expire_all()  # the raw UPDATE bypassed the ORM's copy of the head


def test_the_head_is_signed_with_every_event_and_an_intact_log_verifies(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 3)
    head = session.get(AuditHead, 1)
    assert head.key_id == signer.key_id and head.signature
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert report.ok and report.signed_through == 3


def test_a_checkpoint_under_an_unknown_key_is_a_failure(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 4)
    audit.checkpoint(session, signer=signer, actor=ACTOR)
    # The attacker edits event 2, recomputes every hash, and re-signs the checkpoint with a key of their own.
    row = session.execute(select(AuditEvent).where(AuditEvent.seq == 2)).scalar_one()
    row.actor = "mallory"
    new_head = _recompute_from(session, 2)
    theirs = Signer.load_or_create(tmp_path / "mallory.pem")
    cp = session.execute(select(AuditCheckpoint)).scalar_one()
    cp.hash, cp.key_id, cp.signature = new_head, theirs.key_id, theirs.sign(checkpoint_message(cp.seq, new_head))
    _set_head(session, 4, new_head)
    session.flush()
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and "not a trusted key" in report.reason and theirs.key_id in report.reason


def test_without_the_signing_key_verify_fails_unless_the_public_key_is_given(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 3)
    audit.checkpoint(session, signer=signer, actor=ACTOR)
    assert not audit.verify(session, actor=ACTOR).ok
    public = tmp_path / "audit.pub"
    public.write_text(signer.public_pem())
    assert audit.verify(session, actor=ACTOR, keys=Verifier.from_pem_files([public])).ok
    # Someone else's public key does not vouch for it.
    other = tmp_path / "other.pub"
    other.write_text(Signer.load_or_create(tmp_path / "other.pem").public_pem())
    report = audit.verify(session, actor=ACTOR, keys=Verifier.from_pem_files([other]))
    assert not report.ok and "not a trusted key" in report.reason


def test_truncating_the_newest_events_and_fixing_the_head_is_detected(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 3)
    audit.checkpoint(session, signer=signer, actor=ACTOR)
    _write(session, 3, start=3)  # events 4-6, after the checkpoint
    kept = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == 4)).scalar()
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 4))
    _set_head(session, 4, kept)  # the head still carries event 6's signature
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and "signature does not match" in report.reason


def test_deleting_checkpoints_and_truncating_is_detected(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 4)
    audit.checkpoint(session, signer=signer, actor=ACTOR)
    session.execute(delete(AuditCheckpoint))
    kept = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == 2)).scalar()
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 2))
    _set_head(session, 2, kept, keep_signature=False)
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and "covered by no signature" in report.reason


def test_appending_a_forged_event_is_detected(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 3)
    head = session.get(AuditHead, 1)
    forged = _forge(session, seq=4, prev=head.hash)
    _set_head(session, 4, forged)
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and "signature does not match event 4" in report.reason


def test_a_recomputed_event_is_named_itself_not_the_next_one(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 5)
    row = session.execute(select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
    row.actor = "mallory"
    row.hash = _chain.digest(row.prev_hash, _chain.event_fields(
        seq=row.seq, at=row.at, actor=row.actor, actor_id=row.actor_id, action=row.action, target=row.target,
        source=row.source, before=row.before, after=row.after, note=row.note))
    session.flush()
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and report.first_bad_seq == 3 and "event 3 was rewritten" in report.reason


def test_a_full_rewrite_with_a_stolen_key_is_caught_by_the_anchor_file(session, tmp_path):
    """Even an attacker with the database AND the key cannot change what was anchored outside."""
    signer = _signed(session, tmp_path)
    anchors = tmp_path / "elsewhere" / "audit-anchors.jsonl"
    _write(session, 4)
    audit.checkpoint(session, signer=signer, actor=ACTOR, anchor_file=anchors)
    assert audit.verify(session, actor=ACTOR, signer=signer, anchor_file=anchors).anchors_checked == 1
    row = session.execute(select(AuditEvent).where(AuditEvent.seq == 2)).scalar_one()
    row.actor = "mallory"
    new_head = _recompute_from(session, 2)
    session.execute(delete(AuditCheckpoint))
    _set_head(session, 4, new_head)
    audit.checkpoint(session, signer=signer, actor=ACTOR)  # re-signed with the stolen key
    session.flush()
    report = audit.verify(session, actor=ACTOR, signer=signer, anchor_file=anchors)
    assert not report.ok and "anchor file (line 1)" in report.reason and report.first_bad_seq == 4


def test_a_rollback_to_an_older_signed_state_is_caught_by_the_anchor_file(session, tmp_path):
    signer = _signed(session, tmp_path)
    anchors = tmp_path / "audit-anchors.jsonl"
    _write(session, 2)
    old_head = session.get(AuditHead, 1)
    saved = (old_head.seq, old_head.hash, old_head.key_id, old_head.signature)
    _write(session, 2, start=2)
    audit.checkpoint(session, signer=signer, actor=ACTOR, anchor_file=anchors)
    # Replay: delete events 3-4 and their checkpoint, restore the head as it was (a valid old signature).
    session.execute(delete(AuditCheckpoint))
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 2))
    session.execute(text("UPDATE audit_head SET seq = :s, hash = :h, key_id = :k, signature = :g"),
                    dict(zip("shkg", saved)))
    session.expire_all()
    assert audit.verify(session, actor=ACTOR, signer=signer).ok  # undetectable from inside the database
    report = audit.verify(session, actor=ACTOR, signer=signer, anchor_file=anchors)
    assert not report.ok and "vouches for event 4" in report.reason


def test_checkpoints_are_sent_to_the_anchor_webhook(session, tmp_path):
    received: list[dict] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        signer = _signed(session, tmp_path)
        _write(session, 2)
        cp = audit.checkpoint(session, signer=signer, actor=ACTOR, anchor_url=f"http://127.0.0.1:{server.server_port}/anchors")
    finally:
        server.shutdown()
    assert received == [{"seq": cp.seq, "hash": cp.hash, "at": cp.at.isoformat(), "key_id": signer.key_id,
                         "signature": cp.signature}]
    assert signer.verify(checkpoint_message(cp.seq, cp.hash), received[0]["signature"])


def test_an_unreadable_anchor_line_is_named(session, tmp_path):
    signer = _signed(session, tmp_path)
    _write(session, 1)
    bad = tmp_path / "anchors.jsonl"
    bad.write_text('{"seq": 1}\n')
    import pytest

    from watchkeeper.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"anchors.jsonl:1: not an audit anchor line"):
        audit.verify(session, actor=ACTOR, signer=signer, anchor_file=bad)
