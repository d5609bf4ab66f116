"""`watchkeeper backup list|run|restore-test|history` through the real entry point."""

from __future__ import annotations

import json
import sys

from tests.cli.test_cli import _run
from tests.factories.catalog import make_service
from watchkeeper.auth.service import Actor
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction


def test_backup_verbs(fresh_url, tmp_path):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        make_service(session, name="checkout", team="payments")
        backups.create_backup(session, data=BackupCreate.model_validate({
            "name": "nightly", "service": "checkout", "schedule": "0 3 * * *",
            "source": {"kind": "command", "argv": [sys.executable, "-c", "print('dumped')"]},
            "restore_test": {"command": [sys.executable, "-c", "raise SystemExit('checksum mismatch')"]}}),
            actor=Actor.system("test", "system"))
    engine.dispose()

    listed = json.loads(_run(["--json", "backup", "list"], fresh_url, tmp_path).stdout)
    assert [(j["name"], j["kind"], j["schedule"]) for j in listed] == [("nightly", "command", "0 3 * * *")]
    done = json.loads(_run(["--json", "backup", "run", "nightly", "--now"], fresh_url, tmp_path).stdout)
    assert done["status"] == "succeeded" and done["requested_by"].startswith("cli:")
    queued = json.loads(_run(["--json", "backup", "run", "nightly"], fresh_url, tmp_path).stdout)
    assert queued["status"] == "queued"
    failed = _run(["backup", "restore-test", "nightly", "--now"], fresh_url, tmp_path, check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: restore test run ") and "failed: verification command: " in failed.stderr
    assert failed.stderr.endswith("exited with code 1: checksum mismatch\n") and failed.stderr.count("\n") == 1
    history = json.loads(_run(["--json", "backup", "history", "nightly", "--output"], fresh_url, tmp_path).stdout)
    assert [(r["kind"], r["status"]) for r in history] == [("restore_test", "failed"), ("backup", "queued"), ("backup", "succeeded")]
    assert "dumped" in history[2]["output"]
    table = _run(["backup", "history", "nightly", "--kind", "backup"], fresh_url, tmp_path).stdout
    assert "succeeded" in table and "restore_test" not in table

    for args, code, text in ((["backup", "run", "nope"], 1, "no backup job named 'nope'"),
                             (["backup", "history", "nightly", "--kind", "drill"], 2, "kind must be backup or restore_test"),
                             (["backup", "history", "nightly", "--limit", "0"], 2, "limit must be between 1 and 1000")):
        bad = _run(args, fresh_url, tmp_path, check=False)
        assert bad.returncode == code and text in bad.stderr and bad.stderr.count("\n") == 1, (args, bad.returncode, bad.stderr)
