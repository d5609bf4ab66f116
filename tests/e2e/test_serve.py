"""`watchkeeper serve` as a user runs it: API and UI, with the worker in a child process, on
either store."""

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

from tests.waiting import wait_for
from tests.web.conftest import free_port
from watchkeeper.db.engine import make_engine
from watchkeeper.queue.models import Job

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _terminate(proc: subprocess.Popen, *, timeout: float) -> str:
    """SIGTERM, wait for a clean exit (SIGKILL after `timeout`), return what it wrote on stderr."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    return stderr


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
        assert periodic_done(), "serve's worker ran no job"
    finally:
        stderr = _terminate(proc, timeout=30)
        engine.dispose()
    assert stderr.count("one-time password") == 1
    assert "Traceback" not in stderr
    # A second start finds users and prints no password.
    port2 = free_port()
    cmd[-1] = str(port2)
    proc2 = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _healthy(port2), timeout=90, what="the second serve to answer /healthz", interval=0.3)
    finally:
        proc2.send_signal(signal.SIGTERM)
        _, stderr2 = proc2.communicate(timeout=30)
    assert "one-time password" not in stderr2


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _ran_a_job(engine, pid: int) -> bool:
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Job.claimed_by).where(Job.status == "succeeded")).scalars().all()
    except Exception:  # noqa: BLE001 - tables not created yet
        return False
    return any(r and r.rsplit(":", 1)[-1] == str(pid) for r in rows)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _worker_children(pid: int) -> list[int]:
    """Children that are spawned worker processes (not multiprocessing's resource tracker)."""
    out = []
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                out.append(child)
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_serve_runs_its_worker_in_a_child_process_that_dies_with_it(fresh_url, tmp_path):
    """Jobs run in a child process (no contention with requests for the interpreter lock), and
    a serve killed with SIGKILL leaves no orphan worker behind to run beside its successor."""
    port = free_port()
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": fresh_url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data"),
           "WATCHKEEPER_WORKER_POLL_SECONDS": "0.2"}
    proc = subprocess.Popen([sys.executable, "-m", "watchkeeper", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = make_engine(fresh_url)
    try:
        deadline = time.monotonic() + 90

        def claimers() -> set[int]:
            with engine.connect() as conn:
                rows = conn.execute(select(Job.claimed_by).where(Job.status == "succeeded")).scalars().all()
            return {int(r.rsplit(":", 1)[1]) for r in rows if r}

        seen: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None and not seen:
            try:
                seen = claimers()
            except Exception:  # noqa: BLE001 - tables not created yet
                seen = set()
            time.sleep(0.3)
        assert seen, "serve's worker ran no job"
        children = _children(proc.pid)
        assert proc.pid not in seen and seen <= set(children), (seen, proc.pid, children)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in seen):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in seen), "the worker outlived its serve process"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        engine.dispose()


def test_serve_starts_its_worker_again_when_it_dies(fresh_url, tmp_path):
    """A worker child killed under a running serve (a crash, the OOM killer) is replaced, so the
    server never goes on without anyone sending its notifications."""
    port = free_port()
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": fresh_url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data"),
           "WATCHKEEPER_WORKER_POLL_SECONDS": "0.2"}
    proc = subprocess.Popen([sys.executable, "-m", "watchkeeper", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        first: list[int] = []
        while time.monotonic() < deadline and not first:
            first = _worker_children(proc.pid)
            time.sleep(0.2)
        assert len(first) == 1, first
        engine = make_engine(fresh_url)
        try:
            # crash it once it is up: it has run a job
            wait_for(lambda: _ran_a_job(engine, first[0]), timeout=90, what="the worker child to run a job",
                     interval=0.2)
        finally:
            engine.dispose()
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        second: list[int] = []
        while time.monotonic() < deadline and not second:
            second = [pid for pid in _worker_children(proc.pid) if pid != first[0]]
            time.sleep(0.2)
        assert second, "serve did not start its worker again"
        assert proc.poll() is None
    finally:
        stderr = _terminate(proc, timeout=60)
    assert "worker process exited; starting it again" in stderr
    assert not any(_alive(pid) for pid in second), "the new worker outlived serve"
