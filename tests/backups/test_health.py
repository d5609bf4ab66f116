"""Measured RPO/RTO: the readiness evidence backup_restore_tested, and the missed-backup and
RPO-breach alerts raised (and resolved) through the core signals."""

from __future__ import annotations

import datetime as dt
import re
import sys

import pytest

from tests.factories.catalog import make_service
from watchkeeper import clock, events
from watchkeeper.backups import evidence, health
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.evidence import Status
from watchkeeper.readiness import registry
from watchkeeper.signals.events import SignalChanged


@pytest.fixture
def published():
    seen: list[SignalChanged] = []
    events.subscribe(SignalChanged, lambda session, event: seen.append(event), name="tests.backups.published")
    yield seen
    events.unsubscribe(SignalChanged, "tests.backups.published")


def _make(session, actor, name="nightly", **extra):
    return backups.create_backup(session, data=BackupCreate.model_validate({
        "name": name, "service": "checkout", "source": {"kind": "command", "argv": [sys.executable, "-c", "print(1)"]},
        "restore_test": {"command": [sys.executable, "-c", "print('restored')"]}, **extra}), actor=actor)


def _run(session, session_factory, actor, name, kind):
    run = backups.request_run(session, name=name, kind=kind, actor=actor)
    session.commit()
    return backups.execute(session_factory, run_id=run.id)


def test_restore_tested_evidence_follows_restore_tests_rpo_and_rto(session, personas, session_factory, frozen_clock):
    assert registry.provider_for("backup_restore_tested") is evidence.restore_tested
    svc = make_service(session, name="checkout", team="payments", targets={"rpo": "1d", "rto": "1h"})
    alice = personas["alice"].actor
    none = evidence.restore_tested(session, svc)
    assert none.status is Status.UNKNOWN and "declare one under `backups:`" in none.reason

    _make(session, alice)
    assert "nightly has never passed a restore test" in evidence.restore_tested(session, svc).reason
    _run(session, session_factory, alice, "nightly", "backup")
    clock.advance(dt.timedelta(hours=2))
    assert _run(session, session_factory, alice, "nightly", "restore_test").status == "succeeded"
    ok = evidence.restore_tested(session, svc)
    assert ok.status is Status.PASS, ok.reason
    assert ok.details["nightly"]["rpo_seconds"] == 2 * 3600

    clock.advance(dt.timedelta(hours=23))  # the tested data is now 25h old: over the 1d RPO target
    late = evidence.restore_tested(session, svc)
    assert late.status is Status.FAIL and late.reason == "nightly's measured RPO 1d1h exceeds the target 1d"
    # A newer backup alone does not help: the RPO counts from the newest backup that passed a restore test.
    _run(session, session_factory, alice, "nightly", "backup")
    assert evidence.restore_tested(session, svc).status is Status.FAIL
    _run(session, session_factory, alice, "nightly", "restore_test")
    assert evidence.restore_tested(session, svc).status is Status.PASS

    clock.advance(dt.timedelta(days=31))
    stale = evidence.restore_tested(session, svc)
    assert stale.status is Status.FAIL and "nightly's last passing restore test is 31d old" in stale.reason

    # The RTO leg: a restore slower than the target fails.
    svc_fast = make_service(session, name="fastsvc", team="payments", targets={"rto": "1s"})
    backups.create_backup(session, data=BackupCreate.model_validate({
        "name": "fast", "service": "fastsvc", "source": {"kind": "command", "argv": ["true"]},
        "restore_test": {"command": [sys.executable, "-c", "import time; time.sleep(1.2)"]}}), actor=alice)
    _run(session, session_factory, alice, "fast", "backup")
    _run(session, session_factory, alice, "fast", "restore_test")
    slow = evidence.restore_tested(session, svc_fast)
    assert slow.status is Status.FAIL and re.fullmatch(r"fast's restore took 1\.\ds, over the RTO target 1s", slow.reason), slow.reason


def test_a_scheduled_backup_that_does_not_run_raises_backup_missed_until_one_succeeds(
        session, personas, session_factory, frozen_clock, published):
    make_service(session, name="checkout", team="payments")
    alice = personas["alice"].actor
    _make(session, alice, schedule="0 3 * * *", timeout="30m")  # created 2026-03-02 09:00 UTC
    session.commit()
    clock.set_frozen(dt.datetime(2026, 3, 3, 3, 35, tzinfo=dt.timezone.utc))  # slot 03:00 + 30m + 5m grace
    assert health.watch(session) == 0
    clock.advance(dt.timedelta(minutes=1))
    assert health.watch(session) == 1
    assert health.watch(session) == 0  # a transition is published once
    fired = [e for e in published if e.labels["alertname"] == "BackupMissed"]
    assert len(fired) == 1 and fired[0].firing and fired[0].service == "checkout" and fired[0].labels["backup"] == "nightly"
    assert fired[0].starts_at == dt.datetime(2026, 3, 3, 3, 35, tzinfo=dt.timezone.utc)
    assert "did not run on schedule" in fired[0].annotations["summary"]

    _run(session, session_factory, alice, "nightly", "backup")
    assert health.watch(session) == 1
    resolved = [e for e in published if e.labels["alertname"] == "BackupMissed"][-1]
    assert not resolved.firing and resolved.starts_at == fired[0].starts_at


def test_rpo_breach_fires_when_restore_tests_stop_passing_and_resolves_when_one_passes(
        session, personas, session_factory, frozen_clock, published):
    make_service(session, name="checkout", team="payments", targets={"rpo": "12h"})
    alice = personas["alice"].actor
    _make(session, alice)
    _run(session, session_factory, alice, "nightly", "backup")
    _run(session, session_factory, alice, "nightly", "restore_test")
    assert health.watch(session) == 0
    # Restore tests start failing (the verification now fails); backups keep succeeding.
    backups.update_backup(session, data=BackupCreate.model_validate({
        "name": "nightly", "service": "checkout", "source": {"kind": "command", "argv": [sys.executable, "-c", "print(1)"]},
        "restore_test": {"command": [sys.executable, "-c", "raise SystemExit('row count 0')"]}}), actor=alice)
    for _ in range(3):
        clock.advance(dt.timedelta(hours=5))
        _run(session, session_factory, alice, "nightly", "backup")
        assert _run(session, session_factory, alice, "nightly", "restore_test").status == "failed"
        health.watch(session)
    fired = [e for e in published if e.labels["alertname"] == "BackupRPOBreached"]
    assert [e.firing for e in fired] == [True] and fired[0].severity == "critical"
    assert fired[0].starts_at == dt.datetime(2026, 3, 2, 21, 0, tzinfo=dt.timezone.utc)  # data of 09:00 + 12h
    assert "holds data from 15h ago; target 12h" in fired[0].annotations["description"]

    # The verification is fixed: the next passing restore test resolves the breach.
    backups.update_backup(session, data=BackupCreate.model_validate({
        "name": "nightly", "service": "checkout", "source": {"kind": "command", "argv": [sys.executable, "-c", "print(1)"]},
        "restore_test": {"command": ["true"]}}), actor=alice)
    _run(session, session_factory, alice, "nightly", "restore_test")
    assert health.watch(session) == 1
    assert not [e for e in published if e.labels["alertname"] == "BackupRPOBreached"][-1].firing



def test_the_evidence_link_is_a_route_the_app_serves(session, client, personas):
    """A readiness reason's link must open something: the backups evidence points at the API list
    (there is no backups page yet), which answers for a reader."""
    from watchkeeper.backups import evidence
    from watchkeeper.catalog import service as catalog

    from tests.factories.catalog import make_service

    make_service(session, name="checkout", team="payments")
    session.commit()
    found = evidence.restore_tested(session, catalog.lookup_service(session, name="checkout"))
    assert found.link and client.get(found.link, headers=personas["root"].headers).status_code == 200
