"""Watchkeeper backs itself up (`watchkeeper backup self`) and `watchkeeper restore` puts the copy
into a fresh database whose audit chain verifies; a restore never overwrites a database, and an
edited copy fails verification."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys

from tests.cli.test_cli import _run
from tests.factories.catalog import make_service
from watchkeeper.auth.service import Actor
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction


def _seed(url: str, cwd) -> None:
    """Seed as a Watchkeeper process of this data directory would: its events re-sign the audit head."""
    from watchkeeper.audit.service import SIGNER_INFO
    from watchkeeper.audit.signing import LazySigner

    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    factory.configure(info={SIGNER_INFO: LazySigner(cwd / "data" / "audit-signing.pem")})
    with transaction(factory) as session:
        make_service(session, name="watchkeeper", team="platform")
        backups.create_backup(session, data=BackupCreate.model_validate({
            "name": "wk-db", "service": "watchkeeper", "source": {"kind": "command", "argv": [sys.executable, "-c", "1"]}}),
            actor=Actor.system("test", "system"))
    engine.dispose()


def test_backup_self_and_restore_into_a_fresh_database_that_passes_audit_verify(fresh_url, backend, pg_server, tmp_path):
    _seed(fresh_url, tmp_path)
    before = json.loads(_run(["--json", "audit", "verify"], fresh_url, tmp_path).stdout)
    made = json.loads(_run(["--json", "backup", "self", "--to", str(tmp_path / "bk")], fresh_url, tmp_path).stdout)
    assert made["size_bytes"] > 0 and made["file"].endswith(".sqlite3" if backend == "sqlite" else ".dump")
    target = f"sqlite:///{tmp_path / 'restored.db'}" if backend == "sqlite" else pg_server.new_database(prefix="wk_restored")
    restored = json.loads(_run(["--json", "restore", made["file"], "--into", target], fresh_url, tmp_path).stdout)
    assert restored["audit_ok"] is True and restored["events_checked"] == before["events_checked"]
    assert _run(["audit", "verify"], target, tmp_path).stdout.startswith("ok: ")
    assert [s["name"] for s in json.loads(_run(["--json", "service", "list"], target, tmp_path).stdout)] == ["watchkeeper"]
    assert [b["name"] for b in json.loads(_run(["--json", "backup", "list"], target, tmp_path).stdout)] == ["wk-db"]
    again = _run(["restore", made["file"], "--into", target], fresh_url, tmp_path, check=False)
    assert again.returncode == 2 and ("restore into a fresh, empty database" in again.stderr
                                      or "restore into a new file" in again.stderr), again.stderr
    assert again.stderr.count("\n") == 1
    # the self-backup is audited in the database it copied
    events = json.loads(_run(["--json", "audit", "verify"], fresh_url, tmp_path).stdout)
    assert events["events_checked"] == before["events_checked"] + 1


def test_a_copy_whose_audit_log_was_edited_fails_verification(tmp_path):
    url = f"sqlite:///{tmp_path / 'wk.db'}"
    _seed(url, tmp_path)
    made = json.loads(_run(["--json", "backup", "self", "--to", str(tmp_path / "bk")], url, tmp_path).stdout)
    edited = tmp_path / "edited.sqlite3"
    shutil.copyfile(made["file"], edited)
    conn = sqlite3.connect(edited)
    conn.execute("update audit_event set actor = 'mallory' where seq = 1")
    conn.commit()
    conn.close()
    bad = _run(["restore", str(edited), "--into", f"sqlite:///{tmp_path / 'r.db'}"], url, tmp_path, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: audit chain broken at event 1")
    wrong = _run(["restore", str(tmp_path / "wk.db-nope"), "--into", f"sqlite:///{tmp_path / 'r2.db'}"], url, tmp_path, check=False)
    assert wrong.returncode == 2 and "is not a file" in wrong.stderr
    cross = _run(["restore", made["file"], "--into", "postgresql+psycopg://postgres@127.0.0.1:5432/x"], url, tmp_path, check=False)
    assert cross.returncode == 2 and "is a sqlite backup; restore it into a sqlite database" in cross.stderr


def test_a_notification_sent_before_the_backup_is_not_sent_again_after_the_restore(fresh_url, backend, pg_server, tmp_path):
    from tests.fakes.webhook import Recorder
    from watchkeeper.notify import delivery
    from watchkeeper.notify import service as notify
    from watchkeeper.notify.schemas import Message

    _seed(fresh_url, tmp_path)
    hook = Recorder()
    try:
        engine = make_engine(fresh_url)
        factory = make_session_factory(engine)
        with factory() as s:
            sent_id = notify.enqueue(s, key="page:db-down:1", receiver="ops", channel={"type": "webhook", "url": hook.url},
                                     message=Message(subject="db down", text="x", data={}))
            s.commit()
        assert delivery.deliver(factory, outbox_id=sent_id, worker="w1", secret=lambda _n: None).status == "sent"
        engine.dispose()
        assert len(hook.requests) == 1
        made = json.loads(_run(["--json", "backup", "self", "--to", str(tmp_path / "bk")], fresh_url, tmp_path).stdout)
        target = f"sqlite:///{tmp_path / 'restored.db'}" if backend == "sqlite" else pg_server.new_database(prefix="wk_restored")
        assert json.loads(_run(["--json", "restore", made["file"], "--into", target], fresh_url, tmp_path).stdout)["audit_ok"]

        restored = make_engine(target)
        factory = make_session_factory(restored)
        with factory() as s:
            assert delivery.due_ids(s, limit=10) == []  # nothing left to send in the restored database
            assert notify.enqueue(s, key="page:db-down:1", receiver="ops", channel={"type": "webhook", "url": hook.url},
                                  message=Message(subject="db down", text="x", data={})) is None  # the key survived
            s.commit()
        assert delivery.deliver(factory, outbox_id=sent_id, worker="w2", secret=lambda _n: None).status == "skipped"
        restored.dispose()
        assert len(hook.requests) == 1
    finally:
        hook.close()
