"""The audit chain detects edits, deletions, reordering and rewrites, on both stores."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update

from watchkeeper.audit import _chain
from watchkeeper.audit import service as audit
from watchkeeper.audit.models import AuditEvent
from watchkeeper.audit.signing import LazySigner, Signer
from watchkeeper.auth.service import Actor

ACTOR = Actor.system("tester", "cli")


def _write(session, n: int, prefix: str = "thing") -> None:
    for i in range(n):
        audit.record(session, actor=ACTOR, action=f"{prefix}.update", target=f"{prefix}:{i}",
                     before={"n": i}, after={"n": i + 1, "when": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)})
    session.flush()


def test_intact_chain_verifies(session, tmp_path):
    signer = Signer.load_or_create(tmp_path / "key.pem")
    session.info[audit.SIGNER_INFO] = LazySigner(tmp_path / "key.pem")
    _write(session, 5)
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert report.ok and report.events_checked == 5 and report.signed_through == 5


def test_an_intact_chain_without_a_key_to_check_it_is_not_reported_ok(session):
    """A chain recomputed by someone with database access passes a hash check alone."""
    _write(session, 3)
    report = audit.verify(session, actor=ACTOR)
    assert not report.ok and report.events_checked == 3 and "--public-key" in report.reason


def test_editing_a_row_names_that_event(session):
    _write(session, 5)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    report = audit.verify(session, actor=ACTOR)
    assert not report.ok and report.first_bad_seq == 3 and "edited" in report.reason


def test_editing_json_payload_is_detected(session):
    _write(session, 3)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(after={"n": 999}))
    report = audit.verify(session, actor=ACTOR)
    assert not report.ok and report.first_bad_seq == 2


def test_deleting_a_middle_row_is_detected(session):
    _write(session, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    report = audit.verify(session, actor=ACTOR)
    assert not report.ok and report.first_bad_seq == 2 and "missing" in report.reason


def test_deleting_the_newest_rows_is_detected(session):
    _write(session, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    report = audit.verify(session, actor=ACTOR)
    assert not report.ok and report.first_bad_seq == 4


def test_swapping_two_rows_is_detected(session):
    _write(session, 4)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
    session.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))
    report = audit.verify(session, actor=ACTOR)
    assert not report.ok and report.first_bad_seq == 2


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(session, tmp_path):
    signer = Signer.load_or_create(tmp_path / "key.pem")
    _write(session, 4)
    assert audit.checkpoint(session, signer=signer, actor=ACTOR).seq == 4
    # An attacker edits event 2 and recomputes every later hash so the links hold again.
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    rows[1].actor = "mallory"
    prev = rows[0].hash
    for row in rows[1:]:
        fields = _chain.event_fields(seq=row.seq, at=row.at, actor=row.actor, actor_id=row.actor_id, action=row.action,
                                     target=row.target, source=row.source, before=row.before, after=row.after, note=row.note)
        row.prev_hash, row.hash = prev, _chain.digest(prev, fields)
        prev = row.hash
    session.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    session.flush()
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and report.first_bad_seq == 4 and "rewritten" in report.reason


def test_checkpoint_signature_is_checked_with_the_key(session, tmp_path):
    signer = Signer.load_or_create(tmp_path / "key.pem")
    _write(session, 2)
    audit.checkpoint(session, signer=signer, actor=ACTOR)
    session.execute(text("UPDATE audit_checkpoint SET signature = :s"), {"s": signer.sign(b"something else")})
    report = audit.verify(session, actor=ACTOR, signer=signer)
    assert not report.ok and "signature" in report.reason


def test_signing_key_file_is_private(tmp_path):
    path = tmp_path / "k.pem"
    Signer.load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Signer.load_or_create(path).key_id == Signer.load_or_create(path).key_id


def test_export_is_json_lines_oldest_first_with_hashes(session):
    import json

    _write(session, 3)
    lines = [json.loads(line) for line in audit.export(session, actor=ACTOR)]
    assert [e["seq"] for e in lines] == [1, 2, 3]
    assert lines[1]["prev_hash"] == lines[0]["hash"]


@hsettings(max_examples=40, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
                    max_leaves=12))
def test_digest_is_stable_under_key_order_and_json_round_trip(payload):
    import json

    fields = _chain.event_fields(seq=1, at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), actor="a", actor_id=None,
                                 action="x.y", target="t", source="api", before=payload, after=None, note=None)
    round_tripped = json.loads(json.dumps(fields))
    assert _chain.digest("0" * 64, fields) == _chain.digest("0" * 64, round_tripped)


def test_parallel_writers_keep_the_chain_valid(fresh_url, backend, tmp_path):
    """Eight threads, each with its own connection and transactions, append concurrently, each
    re-signing the head; the first writers race to create the key and must agree on one."""
    from watchkeeper.db import migrate
    from watchkeeper.db.engine import make_engine, make_session_factory

    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    factory.configure(info={audit.SIGNER_INFO: LazySigner(tmp_path / "key.pem")})
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(15):
                with factory() as s:
                    audit.record(s, actor=Actor.system(f"w{k}", "worker"), action="load.write", target=f"w{k}:{i}")
                    s.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors[:1]
        with factory() as s:
            report = audit.verify(s, actor=ACTOR, signer=Signer.load_or_create(tmp_path / "key.pem"))
            assert report.ok, report.reason
            assert report.events_checked == 8 * 15 and report.signed_through == 120
            assert audit.chain_length(s) == 120
    finally:
        engine.dispose()


TRICKY_NUMBERS = [-0.0, 0.0, 1e20, -1e20, 1e300, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3, -1e-7, 2.5e-7, 123.0,
                  123456789.123, 2 ** 53 + 1, -(2 ** 63), 10 ** 30, 1.5]


def test_numbers_that_jsonb_normalises_still_verify(session, backend, tmp_path):
    """Issue 9.8: a monitor with threshold -0.0 or 1e20 made `audit verify` report a tampered
    event for ever on PostgreSQL (JSONB returns 1e20 as an integer and -0.0 as 0)."""
    session.info[audit.SIGNER_INFO] = LazySigner(tmp_path / "key.pem")
    for i, number in enumerate(TRICKY_NUMBERS):
        audit.record(session, actor=ACTOR, action="monitor.update", target=f"monitor:m{i}",
                     before={"threshold": number}, after={"nested": [number, {"x": number}]})
    session.flush()
    session.expire_all()  # read every payload back from the store
    stored = session.execute(select(AuditEvent.before).order_by(AuditEvent.seq)).scalars().all()
    assert len(stored) == len(TRICKY_NUMBERS)
    report = audit.verify(session, actor=ACTOR, signer=Signer.load_or_create(tmp_path / "key.pem"))
    assert report.ok, report.reason
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(before={"threshold": 1e19}))
    session.expire_all()
    tampered = audit.verify(session, actor=ACTOR)
    assert not tampered.ok and tampered.first_bad_seq == 3


def test_events_hashed_before_numbers_were_normalised_still_verify(session, tmp_path):
    """Chains written by earlier releases (floats hashed as written) verify after the upgrade."""
    import hashlib

    audit.record(session, actor=ACTOR, action="monitor.update", target="monitor:m", before={"threshold": 2.0})
    row = session.execute(select(AuditEvent)).scalar_one()
    fields = _chain.event_fields(seq=row.seq, at=row.at, actor=row.actor, actor_id=row.actor_id, action=row.action,
                                 target=row.target, source=row.source, before=row.before, after=row.after, note=row.note)
    legacy = hashlib.sha256(row.prev_hash.encode() + b"\n" + _chain.legacy_canonical(fields)).hexdigest()
    assert legacy != row.hash  # 2.0 hashed as 2.0 then, as 2 now
    session.execute(update(AuditEvent).where(AuditEvent.seq == row.seq).values(hash=legacy))
    from watchkeeper.audit.models import AuditHead

    session.execute(update(AuditHead).values(hash=legacy))
    session.expire_all()
    signer = Signer.load_or_create(tmp_path / "key.pem")
    assert "covered by no signature" in audit.verify(session, actor=ACTOR, signer=signer).reason  # an unsigned old head
    audit.checkpoint(session, signer=signer, actor=ACTOR)  # what the worker does after the upgrade
    assert audit.verify(session, actor=ACTOR, signer=signer).ok


@hsettings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_and_its_decimal_reading_hash_alike(number):
    """JSONB stores a number as a decimal and returns integral ones as integers: the canonical
    form gives the same bytes for the float and for what the store hands back."""
    import decimal
    import json

    text_ = format(decimal.Decimal(repr(number)), "f")  # how PostgreSQL's numeric prints it
    back = json.loads(text_)
    assert _chain.canonical({"v": number}) == _chain.canonical({"v": back})
