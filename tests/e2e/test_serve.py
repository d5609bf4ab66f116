"""`watchkeeper serve` as a user runs it: one process with API, UI and worker, on either store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.web.conftest import free_port
from watchkeeper.db.engine import make_engine
from watchkeeper.worker.models import Job

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_serve_starts_prints_the_admin_password_once_and_runs_the_worker(fresh_url, tmp_path):
    port = free_port()
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": fresh_url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data"),
           "WATCHKEEPER_WORKER_POLL_SECONDS": "0.2"}
    cmd = [sys.executable, "-m", "watchkeeper", "serve", "--config", str(ROOT / "examples" / "watchkeeper.yaml"),
           "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    engine = make_engine(fresh_url)
    try:
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, "serve did not become ready"
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=5).status_code == 401

        def periodic_done():
            with engine.connect() as conn:
                return conn.execute(select(Job.kind).where(Job.status == "succeeded")).scalars().all()

        while time.monotonic() < deadline and not periodic_done():
            time.sleep(0.3)
        assert periodic_done(), "the in-process worker ran no job"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        engine.dispose()
    assert stderr.count("one-time password") == 1
    assert "Traceback" not in stderr
    # A second start finds users and prints no password.
    port2 = free_port()
    cmd[-1] = str(port2)
    proc2 = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port2}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
    finally:
        proc2.send_signal(signal.SIGTERM)
        _, stderr2 = proc2.communicate(timeout=30)
    assert "one-time password" not in stderr2
