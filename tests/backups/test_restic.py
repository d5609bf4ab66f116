"""restic end to end with the real binary: back up a directory, change it, and the restore test
restores the snapshot's content (not the live files) and verifies it; retention prunes to the
policy; a corrupted pack makes the restore test fail with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backups.conftest import require_tool
from tests.factories.catalog import make_service
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate

PASSWORD = "correct horse battery staple"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    require_tool("restic", "restic")
    monkeypatch.setenv("SHOP_RESTIC_PASSWORD", PASSWORD)
    path = tmp_path / "repo"
    subprocess.run(["restic", "init", "-q"], check=True, env={**os.environ, "RESTIC_REPOSITORY": str(path),
                                                           "RESTIC_PASSWORD": PASSWORD})
    return path


def _snapshots(repo: Path) -> list[dict]:
    out = subprocess.run(["restic", "snapshots", "--json"], check=True, capture_output=True,
                         env={**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD": PASSWORD}).stdout
    return json.loads(out)


CHECK = """
import os, sys, pathlib
root = pathlib.Path(os.environ["WK_RESTORE_PATH"]) / sys.argv[1].lstrip("/")
text = (root / "a.txt").read_text()
sys.exit(0 if text == "version 1\\n" else f"a.txt holds {text!r}")
"""


def test_backup_change_restore_test_retention_and_a_corrupted_pack(session, personas, repo, tmp_path, run_worker):
    make_service(session, name="checkout", team="payments")
    alice = personas["alice"].actor
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("version 1\n")
    (data / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    (data / "skip.tmp").write_text("not wanted")
    backups.create_backup(session, data=BackupCreate.model_validate({
        "name": "shop-files", "service": "checkout",
        "source": {"kind": "restic", "repository": str(repo), "password_env": "SHOP_RESTIC_PASSWORD",
                   "paths": [str(data)], "excludes": ["*.tmp"], "tags": ["shop"]},
        "retention": {"keep_last": 2},
        "restore_test": {"read_data_subset": "100%", "command": [sys.executable, "-c", CHECK, str(data)]},
    }), actor=alice)
    backups.request_run(session, name="shop-files", kind="backup", actor=alice)
    session.commit()
    assert run_worker() == 1
    first = backups.history(session, name="shop-files", actor=alice, with_output=True)[0]
    assert first.status == "succeeded", first.reason
    assert first.artifact and first.size_bytes == 300_000 + len("version 1\n")
    assert PASSWORD not in (first.output or "")

    (data / "a.txt").write_text("version 2, after the backup\n")
    backups.request_run(session, name="shop-files", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    test = backups.history(session, name="shop-files", kind="restore_test", actor=alice)[0]
    assert test.status == "succeeded", test.reason
    assert test.backup_run_id == first.id and test.data_at == first.data_at
    assert test.details["files"] == 2 and test.details["command"] == "passed" and test.details["cleaned_up"]
    assert test.duration_seconds > 0

    # The live file changed: a restore test whose check expects the *current* content fails,
    # so the check above really read the snapshot.
    for _ in range(3):
        backups.request_run(session, name="shop-files", kind="backup", actor=alice)
        session.commit()
        run_worker()
    snaps = _snapshots(repo)
    assert len(snaps) == 2 and all("wk:shop-files" in s["tags"] and "shop" in s["tags"] for s in snaps)
    backups.request_run(session, name="shop-files", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    stale = backups.history(session, name="shop-files", kind="restore_test", actor=alice)[0]
    assert stale.status == "failed" and "verification command" in stale.reason and "version 2" in stale.reason

    packs = sorted((repo / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    biggest = packs[-1]
    raw = bytearray(biggest.read_bytes())
    for i in range(100, 200):
        raw[len(raw) // 2 + i] ^= 0xFF
    biggest.chmod(0o644)
    biggest.write_bytes(bytes(raw))
    backups.request_run(session, name="shop-files", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    broken = backups.history(session, name="shop-files", kind="restore_test", actor=alice, with_output=True)[0]
    assert broken.status == "failed"
    assert broken.reason.startswith("restic check --read-data-subset=100%: restic exited with code 1: "
                                    "Fatal: repository contains errors; first problem: Pack ID does not match"), broken.reason
    assert "\n" not in broken.reason
