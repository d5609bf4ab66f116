"""Gradual rollout end to end (issue 16 item 3, "done means"): Debian's nginx is the traffic
splitter in front of two versions of a small local HTTP service; the rollout hook rewrites the
upstream weights and reloads nginx. A bad version (500s) fails analysis at the first step and is
rolled back automatically, with its time-to-healthy measured; a good one reaches 100 %."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.deploys.peers import NGINX_CONF, SPLIT_HOOK, FixedService, free_port
from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper.deploys import freezes, rollout
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.schemas import DeployFinish, DeployStart, ServiceDeployConfig

TESTS = {"url": "https://ci.example.com/runs/9", "status": "passed", "passed": 50}


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if shutil.which("nginx", path="/usr/sbin") else None)
    if found is None:
        pytest.fail("nginx is not installed; install the Debian package nginx-light (`make system-deps` as root)", pytrace=False)
    return found


@pytest.fixture
def splitter(tmp_path):
    """nginx on a free port, sending everything to v1 until the hook says otherwise."""
    nginx = _nginx()
    d = tmp_path / "nginx"
    (d / "tmp").mkdir(parents=True)
    v1 = FixedService("1.0.0").__enter__()
    port = free_port()
    (d / "nginx.conf").write_text(NGINX_CONF.format(dir=d, port=port))
    (d / "hook.py").write_text(SPLIT_HOOK)
    (d / "upstream.conf").write_text(f"upstream app {{ server 127.0.0.1:{v1.port} weight=100; }}\n")
    proc = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200 and (d / "nginx.pid").exists():
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("nginx did not start: " + (d / "error.log").read_text()[-500:] if (d / "error.log").exists() else "")
            time.sleep(0.05)
        yield {"dir": d, "url": url, "v1": v1, "nginx": nginx}
    finally:
        # nginx's master and its workers (a reload starts new ones) are one process group: kill it whole
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _wait_group_gone(proc.pid)
        v1.__exit__()


def _wait_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)
    pytest.fail(f"nginx's process group {pgid} is still running")


def _setup(session, splitter, new_port: int) -> None:
    d = splitter["dir"]
    make_service(session, name="shop", team="payments")
    make_monitor(session, name="shop-lb", service="shop", http={"url": splitter["url"]})
    traffic = {"command": {"command": [sys.executable, str(d / "hook.py"), str(d), str(splitter["v1"].port), str(new_port),
                                       "{weight}", splitter["nginx"]], "timeout": "30s"}}
    analysis = {"probes": False, "url": splitter["url"], "samples": 20, "interval": "10ms"}
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate({
        "service": "shop", "traffic": traffic, "health": {"timeout": "30s", "interval": "50ms"},
        "rollout": {"steps": [{"weight": 20, "analysis": analysis}, {"weight": 50, "analysis": analysis},
                              {"weight": 100, "analysis": analysis}]}}), actor=SYSTEM)
    first = deploys.start_deploy(session, data=DeployStart(service="shop", version="1.0.0", tests=TESTS), actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=first.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)


def _versions(url: str, n: int = 20) -> dict[str, int]:
    seen: dict[str, int] = {}
    with httpx.Client(timeout=5) as client:
        for _ in range(n):
            r = client.get(url)
            key = f"{r.status_code} {r.text.strip()}"
            seen[key] = seen.get(key, 0) + 1
    return seen


def test_a_bad_version_fails_analysis_at_the_first_step_and_is_rolled_back(session, splitter, run_worker, activity):
    with FixedService("2.0.0", status=500) as v2:
        _setup(session, splitter, v2.port)
        started = rollout.start_rollout(session, data=DeployStart(service="shop", version="2.0.0", tests=TESTS), actor=SYSTEM)
        assert started.rollout_status == "running" and started.rollback_version == "1.0.0"
        session.commit()
        run_worker()  # step 1 fails its analysis, which queues the rollback; the same run does the rollback
        steps = rollout.steps(session, deploy_id=started.id, actor=SYSTEM)
        assert [(s["weight"], s["status"]) for s in steps] == [(20, "failed"), (50, "pending"), (100, "pending")]
        verdict = steps[0]["analysis"]["analysis"]
        assert not verdict["passed"] and 0 < verdict["ok"] < 20  # some requests reached 2.0.0 and got 500s
        assert "answered 500" in steps[0]["reason"]
        deploy = deploys.get_deploy(session, deploy_id=started.id, actor=SYSTEM)
        assert (deploy.status, deploy.rollout_status) == ("rolled_back", "rolled_back")
        back = rollbacks.list_rollbacks(session, actor=SYSTEM, service="shop")[0]
        assert (back.trigger, back.status, back.from_version, back.to_version) == ("analysis", "succeeded", "2.0.0", "1.0.0")
        assert back.time_to_healthy_seconds is not None and back.time_to_healthy_seconds > 0  # measured, recorded
        assert (splitter["dir"] / "hook.log").read_text().split() == ["20", "0"]  # step 1, then all traffic back
        assert _versions(splitter["url"]) == {"200 version 1.0.0": 20}
    kinds = [e.kind for e in activity]
    assert kinds[-3:] == ["deploy.started", "deploy.step_failed", "deploy.rolled_back"]


def test_a_good_version_reaches_100_percent(session, splitter, run_worker, activity):
    with FixedService("2.0.0") as v2:
        _setup(session, splitter, v2.port)
        started = rollout.start_rollout(session, data=DeployStart(service="shop", version="2.0.0", tests=TESTS), actor=SYSTEM)
        session.commit()
        run_worker()
        steps = rollout.steps(session, deploy_id=started.id, actor=SYSTEM)
        assert [(s["weight"], s["status"], s["hook_runs"]) for s in steps] == [(20, "passed", 1), (50, "passed", 1), (100, "passed", 1)]
        assert all(s["analysis"]["analysis"]["ok"] == 20 for s in steps)
        deploy = deploys.get_deploy(session, deploy_id=started.id, actor=SYSTEM)
        assert (deploy.status, deploy.rollout_status) == ("succeeded", "succeeded")
        assert (splitter["dir"] / "hook.log").read_text().split() == ["20", "50", "100"]
        assert _versions(splitter["url"]) == {"200 version 2.0.0": 20}
    assert [e.kind for e in activity][-4:] == ["deploy.step_passed", "deploy.step_passed", "deploy.step_passed", "deploy.finished"]


def test_a_step_waits_for_approval(session, splitter, run_worker, personas):
    with FixedService("2.0.0") as v2:
        _setup(session, splitter, v2.port)
        policy = freezes.policy_of(session, "shop").model_dump(mode="json")
        policy["rollout"]["steps"][1]["approval"] = True
        freezes.set_policy(session, data=ServiceDeployConfig.model_validate(policy), actor=SYSTEM)
        started = rollout.start_rollout(session, data=DeployStart(service="shop", version="2.0.0", tests=TESTS), actor=SYSTEM)
        session.commit()
        run_worker()
        assert [s["status"] for s in rollout.steps(session, deploy_id=started.id, actor=SYSTEM)] == ["passed", "waiting_approval", "pending"]
        assert (splitter["dir"] / "hook.log").read_text().split() == ["20"]
        rollout.approve_step(session, deploy_id=started.id, actor=personas["alice"].actor)
        session.commit()
        run_worker()
        assert deploys.get_deploy(session, deploy_id=started.id, actor=SYSTEM).status == "succeeded"
        assert (splitter["dir"] / "hook.log").read_text().split() == ["20", "50", "100"]
