"""A canary that rolled back, made for real (for the page and browser tests): a rollout whose
first step's analysis finds 500s, and the automatic rollback the worker runs."""

from __future__ import annotations

import datetime as dt
import sys

from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from watchkeeper.deploys import calendar, freezes, rollout
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.calendar import PlannedDeploy
from watchkeeper.deploys.schemas import (
    DeployFinish,
    DeployStart,
    FreezeCreate,
    ServiceDeployConfig,
)

HOOK = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"
TESTS = {"url": "https://ci.example.com/runs/77", "status": "passed", "passed": 412, "skipped": 3}


def seed_canary(session, *, bad_url: str, log_path: str) -> int:
    make_service(session, name="shop", team="payments")
    hook = {"command": {"command": [sys.executable, "-c", HOOK, log_path, "{weight}"]}}
    analysis = {"probes": False, "url": bad_url, "samples": 5, "interval": "10ms"}
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate({
        "service": "shop", "traffic": hook, "rollback": hook, "health": {"timeout": "5s", "interval": "50ms"},
        "rollout": {"steps": [{"weight": 5, "analysis": analysis}, {"weight": 25, "analysis": analysis},
                              {"weight": 50, "analysis": analysis}, {"weight": 100}]}}), actor=SYSTEM)
    first = deploys.start_deploy(session, data=DeployStart(service="shop", version="1.4.1", commit="9a8b7c6d5e4f", tests=TESTS),
                                 actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=first.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
    started = rollout.start_rollout(session, data=DeployStart(service="shop", version="1.4.2", commit="3f9c2e1a0b7d",
                                                              artifact="registry.example.com/shop@sha256:5e1f", tests=TESTS,
                                                              triggered_by="pipeline 8812"), actor=SYSTEM)
    return started.id


def seed_calendar(session) -> None:
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    freezes.create_freeze(session, data=FreezeCreate.model_validate(
        {"name": "weekend", "cron": "0 16 * * 5", "timezone": "Europe/Berlin", "duration": "64h", "reason": "no weekend changes"}),
        actor=SYSTEM)
    saturday = now + dt.timedelta(days=(5 - now.weekday()) % 7)
    calendar.plan_deploy(session, data=PlannedDeploy(service="shop", version="1.5.0", at=saturday.replace(hour=10)), actor=SYSTEM)
    calendar.plan_deploy(session, data=PlannedDeploy(service="shop", version="1.4.3", at=now + dt.timedelta(days=1)), actor=SYSTEM)
