"""Crash test (issue 16, "done means"): `kill -9` of a real worker process mid-rollout. After a
new worker starts, the rollout resumes (on_crash: resume) or rolls back (on_crash: rollback)
per its plan; no step's traffic hook runs twice."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction
from watchkeeper.deploys import freezes, rollout
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.models import Deploy, Step
from watchkeeper.deploys.schemas import DeployFinish, DeployStart, ServiceDeployConfig

HOOK = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"
TESTS = {"url": "https://ci.example.com/runs/3", "status": "passed", "passed": 1}


def _worker(url: str, tmp_path: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data"),
           "WATCHKEEPER_WORKER_POLL_SECONDS": "0.1", "WATCHKEEPER_WORKER_HEARTBEAT_SECONDS": "0.5",
           "WATCHKEEPER_WORKER_DEAD_AFTER_SECONDS": "2", "WATCHKEEPER_WORKER_ID": name}
    log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "watchkeeper", "worker"], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _wait(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("on_crash", ["resume", "rollback"])
def test_kill_9_mid_rollout(fresh_url, tmp_path, on_crash):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    log = tmp_path / "hook.log"
    hook = {"command": {"command": [sys.executable, "-c", HOOK, str(log), "{weight}"]}}
    with transaction(factory) as session:
        make_service(session, name="shop", team="payments")
        freezes.set_policy(session, data=ServiceDeployConfig.model_validate({
            "service": "shop", "traffic": hook, "rollback": hook, "health": {"timeout": "10s", "interval": "50ms"},
            "rollout": {"on_crash": on_crash, "steps": [{"weight": 20, "pause": "4s"}, {"weight": 50}, {"weight": 100}]}}),
            actor=SYSTEM)
        first = deploys.start_deploy(session, data=DeployStart(service="shop", version="1.0.0", tests=TESTS), actor=SYSTEM)
        deploys.finish_deploy(session, deploy_id=first.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
        deploy_id = rollout.start_rollout(session, data=DeployStart(service="shop", version="2.0.0", tests=TESTS), actor=SYSTEM).id

    def step0_hooked():
        with factory() as s:
            return s.execute(select(Step.hook_at).where(Step.deploy_id == deploy_id, Step.idx == 0)).scalar()

    def finished():
        with factory() as s:
            status = s.execute(select(Deploy.rollout_status).where(Deploy.id == deploy_id)).scalar()
            return status if status in ("succeeded", "rolled_back") else None

    first_worker = _worker(fresh_url, tmp_path, "w1")
    try:
        _wait(step0_hooked, timeout=30, what="step 1's traffic hook")
        time.sleep(0.5)  # well inside the 4 s pause
        _kill(first_worker)
        assert finished() is None  # killed mid-rollout
        second_worker = _worker(fresh_url, tmp_path, "w2")
        try:
            outcome = _wait(finished, timeout=60, what="the rollout to finish after the restart")
        finally:
            _kill(second_worker)
    finally:
        _kill(first_worker)
    with factory() as s:
        steps = list(s.execute(select(Step).where(Step.deploy_id == deploy_id).order_by(Step.idx)).scalars())
        deploy = s.get(Deploy, deploy_id)
        if on_crash == "resume":
            assert outcome == "succeeded" and deploy.status == "succeeded"
            assert [(st.status, st.hook_runs) for st in steps] == [("passed", 1), ("passed", 1), ("passed", 1)]
            assert steps[0].analysis["resumed"] == 1
            assert log.read_text().split() == ["20", "50", "100"]  # no step ran twice
        else:
            assert outcome == "rolled_back" and deploy.status == "rolled_back"
            assert [(st.status, st.hook_runs) for st in steps] == [("failed", 1), ("pending", 0), ("pending", 0)]
            assert "on_crash: rollback" in steps[0].reason
            # step 1 once, then the rollback: traffic to 0 % and the rollback hook to 1.0.0 (weight 0)
            assert log.read_text().split() == ["20", "0", "0"]
    engine.dispose()
