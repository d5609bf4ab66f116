"""Backup jobs: declared, changed and removed through the service with permission checks on the
job's service, every change audited without secrets, lists filtered by scope, bad input refused
in one line, schedules queued once per slot, and no two runs of one job at once."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from tests.factories.catalog import make_service
from watchkeeper import clock
from watchkeeper.audit.models import AuditEvent
from watchkeeper.backups import _retention
from watchkeeper.backups import service as backups
from watchkeeper.backups.models import BackupJob, BackupRun
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from watchkeeper.queue.models import Job
from watchkeeper.validation import invalid_input


def _job(name="shop-files", service="checkout", **extra) -> BackupCreate:
    data = {"name": name, "service": service,
            "source": {"kind": "restic", "repository": "/srv/restic", "password_env": "SHOP_RESTIC_PASSWORD",
                       "paths": ["/srv/shop"]}}
    return BackupCreate.model_validate({**data, **extra})


def _command(name, service="checkout", argv=None, **extra) -> BackupCreate:
    return BackupCreate.model_validate({"name": name, "service": service,
                                        "source": {"kind": "command", "argv": argv or [sys.executable, "-c", "print('ok')"]}, **extra})


@pytest.fixture
def shop(session, personas):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="searchapi", team="search")
    session.commit()
    return personas


def test_create_list_update_delete_are_audited_and_never_hold_a_secret(session, shop, monkeypatch):
    monkeypatch.setenv("SHOP_RESTIC_PASSWORD", "hunter2-very-secret")
    alice = shop["alice"].actor
    read = backups.create_backup(session, data=_job(retention={"keep_daily": 7}), actor=alice)
    assert read.kind == "restic" and read.source["password_env"] == "SHOP_RESTIC_PASSWORD"
    backups.update_backup(session, data=_job(retention={"keep_daily": 14}), actor=alice)
    assert backups.get_backup(session, name="shop-files", actor=alice).retention == {"keep_daily": 14}
    backups.request_run(session, name="shop-files", kind="backup", actor=alice)
    backups.delete_backup(session, name="shop-files", actor=alice)
    session.commit()
    events = session.execute(select(AuditEvent).where(AuditEvent.target == "backup:shop-files").order_by(AuditEvent.seq)).scalars().all()
    assert [(e.action, e.actor) for e in events] == [("backup.create", "alice"), ("backup.update", "alice"),
                                                     ("backup.run", "alice"), ("backup.delete", "alice")]
    assert events[1].before == {"retention": {"keep_daily": 7}} and events[1].after == {"retention": {"keep_daily": 14}}
    everything = " ".join(str((e.before, e.after, e.note)) for e in session.execute(select(AuditEvent)).scalars())
    assert "hunter2" not in everything
    with pytest.raises(NotFound):
        backups.get_backup(session, name="shop-files", actor=alice)


def test_permissions_are_checked_on_the_jobs_service_and_lists_are_filtered(session, shop):
    root, alice, bob, carol = (shop[p].actor for p in ("root", "alice", "bob", "carol"))
    backups.create_backup(session, data=_job("pay-files"), actor=alice)
    with pytest.raises(PermissionDenied):
        backups.create_backup(session, data=_job("search-files", service="searchapi"), actor=alice)
    backups.create_backup(session, data=_job("search-files", service="searchapi"), actor=root)
    for actor, action in ((bob, "create"), (carol, "create")):
        with pytest.raises(PermissionDenied):
            backups.create_backup(session, data=_job(f"x-{actor.name}"), actor=actor)
    with pytest.raises(PermissionDenied):  # a responder may look, not run
        backups.request_run(session, name="pay-files", kind="backup", actor=bob)
    with pytest.raises(PermissionDenied):
        backups.request_run(session, name="search-files", kind="restore_test", actor=alice)
    with pytest.raises(PermissionDenied):
        backups.delete_backup(session, name="search-files", actor=alice)
    with pytest.raises(PermissionDenied):
        backups.history(session, name="search-files", actor=bob)
    assert [b.name for b in backups.list_backups(session, actor=alice)] == ["pay-files"]
    assert [b.name for b in backups.list_backups(session, actor=bob)] == ["pay-files"]
    with pytest.raises(PermissionDenied):  # no grant at all: not even an empty list
        backups.list_backups(session, actor=carol)
    assert [b.name for b in backups.list_backups(session, actor=root)] == ["pay-files", "search-files"]
    assert [b.name for b in backups.list_backups(session, actor=shop["audrey"].actor)] == ["pay-files", "search-files"]


def test_unknown_service_and_duplicate_name_are_refused(session, shop):
    alice = shop["alice"].actor
    with pytest.raises(NotFound):
        backups.create_backup(session, data=_job(service="nope"), actor=alice)
    backups.create_backup(session, data=_job(), actor=alice)
    with pytest.raises(Conflict, match="already exists"):
        backups.create_backup(session, data=_job(), actor=alice)
    with pytest.raises(InvalidInput, match="kind must be backup or restore_test"):
        backups.request_run(session, name="shop-files", kind="drill", actor=alice)


BAD = [
    ({"source": {"kind": "restic", "repository": "/r", "password_env": "not a name", "paths": ["/x"]}}, "password_env"),
    ({"source": {"kind": "restic", "repository": "/r", "password_env": "P", "paths": ["relative/dir"]}}, "absolute path"),
    ({"source": {"kind": "restic", "repository": "/r", "password_env": "P", "paths": []}}, "paths"),
    ({"source": {"kind": "restic", "repository": "/r", "password_env": "P", "paths": ["/x"] * 101}}, "paths"),
    ({"source": {"kind": "postgres", "dsn_env": "D", "directory": "/d", "dsn": "postgresql://u:pw@h/db"}}, "dsn"),
    ({"source": {"kind": "tape"}}, "source"),
    ({"schedule": "61 * * * *"}, "schedule"),
    ({"timeout": "25h"}, "timeout"),
    ({"name": "Shop Files"}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"restore_test": {"sql": "select 1"}}, "expect"),
    ({"restore_test": {"sql": "select 1", "expect": "1"}}, "postgres or sqlite"),
    ({"restore_test": {"read_data_subset": "150%"}}, "read_data_subset"),
    ({"retention": {"keep_daily": 0}}, "keep_daily"),
]


@pytest.mark.parametrize("extra,word", BAD)
def test_bad_input_is_one_line_naming_what_to_fix(extra, word):
    data = {"name": "shop-files", "service": "checkout",
            "source": {"kind": "restic", "repository": "/r", "password_env": "P", "paths": ["/x"]}, **extra}
    with pytest.raises(ValidationError) as info:
        BackupCreate.model_validate(data)
    message = invalid_input(info.value.errors()).message
    assert "\n" not in message and word in message, message


def test_a_scheduled_slot_is_queued_once_and_the_next_slot_computed(session, shop, frozen_clock):
    alice = shop["alice"].actor
    backups.create_backup(session, data=_command("nightly", schedule="0 3 * * *", timezone="Europe/Berlin",
                                                 restore_test={"schedule": "0 5 * * 0", "command": ["true"]}), actor=alice)
    job = session.execute(select(BackupJob).where(BackupJob.name == "nightly")).scalar_one()
    assert job.next_backup_at == dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.timezone.utc)  # 03:00 Berlin (CET)
    assert backups.schedule(session) == 0
    clock.set_frozen(dt.datetime(2026, 3, 3, 2, 0, 30, tzinfo=dt.timezone.utc))
    assert backups.schedule(session) == 1
    assert backups.schedule(session) == 0
    assert job.next_backup_at == dt.datetime(2026, 3, 4, 2, 0, tzinfo=dt.timezone.utc)
    queued = session.execute(select(Job).where(Job.kind == "backups.run")).scalars().all()
    assert len(queued) == 1 and queued[0].dedupe_key.startswith(f"backups:{job.id}:backup:")
    runs = backups.history(session, name="nightly", actor=alice)
    assert [(r.kind, r.trigger, r.status) for r in runs] == [("backup", "schedule", "queued")]


def test_a_command_run_records_exit_code_output_and_timeout(session, shop, run_worker):
    alice = shop["alice"].actor
    backups.create_backup(session, data=_command("ok", argv=[sys.executable, "-c", "print('dumped 42 rows')"]), actor=alice)
    backups.create_backup(session, data=_command("bad", argv=[sys.executable, "-c", "import sys; print('disk full'); sys.exit(3)"]),
                          actor=alice)
    backups.create_backup(session, data=_command("slow", argv=[sys.executable, "-c", "import time; time.sleep(30)"],
                                                 timeout="1s"), actor=alice)
    backups.create_backup(session, data=_command("loud", argv=[sys.executable, "-c", "print('x' * 10_000_000)"]), actor=alice)
    for name in ("ok", "bad", "slow", "loud"):
        backups.request_run(session, name=name, kind="backup", actor=alice)
    session.commit()
    assert run_worker() == 4
    runs = {name: backups.history(session, name=name, actor=alice, with_output=True)[0] for name in ("ok", "bad", "slow", "loud")}
    assert runs["ok"].status == "succeeded" and "dumped 42 rows" in runs["ok"].output and runs["ok"].data_at is not None
    assert runs["bad"].status == "failed" and runs["bad"].reason.endswith("exited with code 3: disk full"), runs["bad"].reason
    assert runs["slow"].status == "failed" and "ran past the timeout" in runs["slow"].reason
    assert runs["slow"].duration_seconds < 10
    assert runs["loud"].status == "succeeded" and len(runs["loud"].output.encode()) <= 64 * 1024 + 100
    job = session.execute(select(BackupJob).where(BackupJob.name == "slow")).scalar_one()
    session.refresh(job)
    assert job.lock_run_id is None


def test_no_two_runs_of_one_job_at_once(session, shop, session_factory):
    alice = shop["alice"].actor
    backups.create_backup(session, data=_command("once"), actor=alice)
    first = backups.request_run(session, name="once", kind="backup", actor=alice)
    second = backups.request_run(session, name="once", kind="backup", actor=alice)
    job = session.execute(select(BackupJob).where(BackupJob.name == "once")).scalar_one()
    job.lock_run_id, job.lock_until = first.id, clock.utcnow() + dt.timedelta(minutes=5)  # first is running elsewhere
    session.commit()
    skipped = backups.execute(session_factory, run_id=second.id)
    assert skipped.status == "skipped" and f"run {first.id} of backup job 'once' was still running" in skipped.reason
    job.lock_until = clock.utcnow() - dt.timedelta(seconds=1)  # its holder died; the lock expired
    session.commit()
    third = backups.request_run(session, name="once", kind="backup", actor=alice)
    session.commit()
    assert backups.execute(session_factory, run_id=third.id).status == "succeeded"


def test_a_run_left_running_by_a_dead_worker_is_failed_once_its_lock_expires(session, shop, session_factory):
    alice = shop["alice"].actor
    backups.create_backup(session, data=_command("orphan", timeout="10m"), actor=alice)
    run = backups.request_run(session, name="orphan", kind="backup", actor=alice)
    job = session.execute(select(BackupJob).where(BackupJob.name == "orphan")).scalar_one()
    row = session.get(BackupRun, run.id)
    row.status, row.started_at = "running", clock.utcnow()
    job.lock_run_id, job.lock_until = run.id, clock.utcnow() + dt.timedelta(minutes=11)  # as execute() leaves it mid-run
    session.commit()
    assert backups.reap(session) == 0  # still within its lock: alive as far as anyone can tell
    job.lock_until = clock.utcnow() - dt.timedelta(seconds=1)
    session.commit()
    assert backups.reap(session) == 1
    failed = backups.history(session, name="orphan", actor=alice)[0]
    assert failed.status == "failed" and "stopped before it finished" in failed.reason
    assert job.lock_run_id is None and backups.reap(session) == 0


_when = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=dt.timezone.utc))


@hsettings(max_examples=200, deadline=None)
@given(files=st.lists(_when, min_size=0, max_size=40, unique=True), last=st.none() | st.integers(1, 5),
       daily=st.none() | st.integers(1, 10), monthly=st.none() | st.integers(1, 3))
def test_file_retention_keeps_the_newest_and_one_file_per_kept_bucket(files, last, daily, monthly):
    named = [(f"f{i}", at) for i, at in enumerate(files)]
    kept = _retention.keep(named, keep_last=last, keep_daily=daily, keep_monthly=monthly)
    if not named:
        assert kept == set()
        return
    if last is None and daily is None and monthly is None:
        assert kept == {n for n, _ in named}
        return
    newest = max(named, key=lambda f: f[1])[0]
    assert newest in kept
    days = sorted({at.date() for _, at in named}, reverse=True)
    for day in days[: daily or 0]:  # the newest file of each of the last `daily` days that have one
        on_day = [f for f in named if f[1].date() == day]
        assert max(on_day, key=lambda f: f[1])[0] in kept
    bound = (last or 0) + (daily or 0) + (monthly or 0)
    assert len(kept) <= bound


def test_two_processes_running_the_same_job_never_overlap(fresh_url, tmp_path):
    """Two real `watchkeeper backup run JOB --now` processes at once: one runs, the other is
    recorded as skipped, and the program never ran twice at the same time."""
    import os
    import subprocess

    from tests.factories.catalog import make_service as make_svc
    from watchkeeper.auth.service import Actor
    from watchkeeper.db import migrate
    from watchkeeper.db.engine import make_engine, make_session_factory, transaction

    log = tmp_path / "runs.log"
    script = (f"import time; open({str(log)!r}, 'a').write(f'start {{time.time()}}\\n'); time.sleep(5); "
              f"open({str(log)!r}, 'a').write(f'end {{time.time()}}\\n')")
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as s:
        make_svc(s, name="checkout", team="payments")
        backups.create_backup(s, data=_command("solo", argv=[sys.executable, "-c", script]), actor=Actor.system("t", "system"))
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": fresh_url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data")}
    procs = [subprocess.Popen([sys.executable, "-m", "watchkeeper", "backup", "run", "solo", "--now"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    skipped = next(err for code, err in results if code == 1)
    assert "skipped" in skipped and "runs of one job never overlap" in skipped
    lines = log.read_text().split()
    assert lines[::2] == ["start", "end"]  # the program ran once
    with transaction(make_session_factory(engine)) as s:
        runs = backups.history(s, name="solo", actor=Actor.system("t", "system"))
    assert sorted(r.status for r in runs) == ["skipped", "succeeded"]
    engine.dispose()
