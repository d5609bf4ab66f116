"""sqlite jobs: the online backup API copies a database while another process keeps writing;
the restored copy passes PRAGMA integrity_check and holds every row committed before the
backup started."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from tests.factories.catalog import make_service
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate

WRITER = """
import os, sqlite3, sys, time
db, stop = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, isolation_level=None, timeout=30)
conn.execute("pragma journal_mode=wal")
blob = os.urandom(2000)
while not os.path.exists(stop):
    conn.execute("begin immediate")
    conn.execute("insert into t (payload) values (?)", (blob,))
    conn.execute("commit")
"""


def _count(db) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("select count(*) from t").fetchone()[0]
    finally:
        conn.close()


def test_online_backup_while_another_process_writes(session, personas, tmp_path, run_worker):
    db, stop = tmp_path / "app.db", tmp_path / "stop"
    conn = sqlite3.connect(db)
    conn.execute("pragma journal_mode=wal")
    conn.execute("create table t (id integer primary key autoincrement, payload blob not null)")
    conn.executemany("insert into t (payload) values (?)", [(bytes(2000),)] * 20_000)  # ~40 MB: the copy takes a while
    conn.commit()
    conn.close()
    make_service(session, name="checkout", team="payments")
    alice = personas["alice"].actor
    spec = {"name": "app-db", "service": "checkout",
            "source": {"kind": "sqlite", "database": str(db), "directory": str(tmp_path / "copies")}}
    backups.create_backup(session, data=BackupCreate.model_validate(spec), actor=alice)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(stop)])
    try:
        while _count(db) < 20_200:
            time.sleep(0.01)
        committed_before = _count(db)  # every row up to here was committed before the backup started
        backups.request_run(session, name="app-db", kind="backup", actor=alice)
        session.commit()
        run_worker()
        during = _count(db)
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert writer.returncode == 0
    run = backups.history(session, name="app-db", actor=alice)[0]
    assert run.status == "succeeded", run.reason
    assert during > committed_before  # the writer really kept writing while the copy was taken

    backups.update_backup(session, data=BackupCreate.model_validate({**spec, "restore_test": {
        "sql": f"select count(*) = max(id) and count(*) >= {committed_before} from t", "expect": "1"}}), actor=alice)
    backups.request_run(session, name="app-db", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    test = backups.history(session, name="app-db", kind="restore_test", actor=alice)[0]
    assert test.status == "succeeded", test.reason
    assert test.details["integrity_check"] == "ok" and test.details["sql"]["got"] == "1"
    copy = sqlite3.connect(run.artifact)
    assert copy.execute("pragma integrity_check").fetchone()[0] == "ok"
    rows = copy.execute("select count(*), max(id) from t").fetchone()
    copy.close()
    assert rows[0] == rows[1] >= committed_before  # no gaps: a prefix of the commit sequence


def test_a_restore_test_of_a_damaged_copy_fails(session, personas, tmp_path, run_worker):
    db = tmp_path / "small.db"
    conn = sqlite3.connect(db)
    conn.execute("create table t (id integer primary key, v text)")
    conn.executemany("insert into t (v) values (?)", [("x" * 500,)] * 2000)
    conn.commit()
    conn.close()
    make_service(session, name="checkout", team="payments")
    alice = personas["alice"].actor
    backups.create_backup(session, data=BackupCreate.model_validate({
        "name": "small-db", "service": "checkout",
        "source": {"kind": "sqlite", "database": str(db), "directory": str(tmp_path / "copies")}}), actor=alice)
    backups.request_run(session, name="small-db", kind="backup", actor=alice)
    session.commit()
    run_worker()
    artifact = backups.history(session, name="small-db", actor=alice)[0].artifact
    with open(artifact, "r+b") as f:  # overwrite pages in the middle of the copy
        f.seek(8192)
        f.write(b"\xff" * 8192)
    backups.request_run(session, name="small-db", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    test = backups.history(session, name="small-db", kind="restore_test", actor=alice)[0]
    assert test.status == "failed"
    assert "integrity_check" in test.reason or "not a readable SQLite database" in test.reason, test.reason
