"""A rollout never stays half-done silently: when a step's queue job is dead (its attempts used
up), the leader's deploys.watch job fails the step and rolls the rollout back."""

from __future__ import annotations

import sys

from sqlalchemy import select

from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from watchkeeper.deploys import freezes, rollout
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.schemas import DeployFinish, DeployStart, ServiceDeployConfig
from watchkeeper.queue import service as queue
from watchkeeper.queue.models import Job

HOOK = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"


def test_a_dead_step_job_rolls_the_rollout_back(session, tmp_path, run_worker, activity):
    log = tmp_path / "hook.log"
    hook = {"command": {"command": [sys.executable, "-c", HOOK, str(log), "{weight}"]}}
    make_service(session, name="shop", team="payments")
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate({
        "service": "shop", "traffic": hook, "health": {"timeout": "5s", "interval": "50ms"},
        "rollout": {"steps": [{"weight": 10}, {"weight": 100}]}}), actor=SYSTEM)
    first = deploys.start_deploy(session, data=DeployStart(service="shop", version="1.0.0"), actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=first.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
    started = rollout.start_rollout(session, data=DeployStart(service="shop", version="2.0.0"), actor=SYSTEM)
    # the first step's job used up its attempts (as repeated crashes of its worker would)
    job = session.execute(select(Job).where(Job.dedupe_key == f"deploys:rollout:{started.id}:0")).scalar_one()
    job.status, job.attempts, job.last_error = "dead", 5, "OSError: the worker host ran out of memory"
    session.commit()
    assert rollout.watch(session) == 1
    assert rollout.watch(session) == 0  # once
    queue.enqueue(session, kind="deploys.watch", payload={})  # the periodic job finds nothing more
    session.commit()
    run_worker()
    steps = rollout.steps(session, deploy_id=started.id, actor=SYSTEM)
    assert steps[0]["status"] == "failed" and "died after 5 attempts: OSError" in steps[0]["reason"]
    d = deploys.get_deploy(session, deploy_id=started.id, actor=SYSTEM)
    assert (d.status, d.rollout_status) == ("rolled_back", "rolled_back")
    back = rollbacks.list_rollbacks(session, actor=SYSTEM, service="shop")[0]
    assert (back.trigger, back.status, back.to_version) == ("crash", "succeeded", "1.0.0")
    assert log.read_text().split() == ["0"]  # the step's hook never ran; the rollback set traffic to 0 %
    assert "deploy.step_failed" in [e.kind for e in activity]
