"""Rollbacks and rollback drills (issue 16 items 4 and 5): real hook processes, a real local
HTTP service probed by a real monitor, worker queue jobs; the measured time-to-healthy decides
the readiness item `rollback_drilled`."""

from __future__ import annotations

import sys

import pytest

from tests.deploys.peers import VersionedService
from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper.catalog import service as catalog
from watchkeeper.deploys import evidence, freezes
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.schemas import DeployFinish, DeployStart, ServiceDeployConfig
from watchkeeper.errors import InvalidInput, PermissionDenied
from watchkeeper.evidence import Status

# The hook: append the version to a log, optionally sleep, then install it (write the version file).
HOOK = ("import sys, time, pathlib; d = pathlib.Path(sys.argv[1]); "
        "open(d / 'hook.log', 'a').write(sys.argv[2] + '\\n'); time.sleep(float(sys.argv[3])); "
        "(d / 'version').write_text(sys.argv[2])")


def _policy(session, tmp_path, *, sleep: float = 0.0, target: str = "5m", timeout: str = "20s") -> None:
    hook = {"command": {"command": [sys.executable, "-c", HOOK, str(tmp_path), "{version}", str(sleep)], "timeout": "30s"}}
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate({
        "service": "shop", "rollback": hook, "deploy": hook,
        "health": {"target": target, "timeout": timeout, "interval": "50ms"}}), actor=SYSTEM)


def _deployed(session, version: str) -> int:
    d = deploys.start_deploy(session, data=DeployStart(service="shop", version=version), actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=d.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
    return d.id


@pytest.fixture
def shop(session, tmp_path):
    (tmp_path / "version").write_text("2.0.0")
    with VersionedService(tmp_path / "version") as svc:
        make_service(session, name="shop", team="payments")
        make_monitor(session, name="shop-http", service="shop", http={"url": svc.url})
        _deployed(session, "1.0.0")
        _deployed(session, "2.0.0")
        session.commit()
        yield svc


def _procedure(session, tmp_path, *, reviewed: bool) -> None:
    """The service's rollback procedure, a runbook of kind rollback-procedure (the runbooks domain)."""
    from tests.factories.world import runbooks_config
    from watchkeeper import clock
    from watchkeeper.runbooks import service as runbooks

    folder = tmp_path / "runbooks"
    folder.mkdir(exist_ok=True)
    review = f"last_reviewed: {{date: {clock.utcnow().date().isoformat()}, by: bob}}\n" if reviewed else ""
    (folder / "rollback.md").write_text(f"---\ntitle: Rolling back shop\nservices: [shop]\nkind: rollback-procedure\n{review}---\n"
                                        "# Rolling back shop\n\n`watchkeeper deploy rollback shop`\n", encoding="utf-8")
    runbooks.configure(session, data=runbooks_config(str(folder)), actor=SYSTEM)
    runbooks.sync(session, actor=SYSTEM, strict=True)


def _evidence(session):
    return evidence.rollback_drilled(session, catalog.lookup_service(session, name="shop"))


def test_a_drill_rolls_back_and_forward_and_turns_the_item_pass(session, tmp_path, shop, run_worker, activity):
    _policy(session, tmp_path)
    assert _evidence(session).status == Status.UNKNOWN
    queued = rollbacks.request_drill(session, service="shop", actor=SYSTEM)
    assert (queued.status, queued.from_version, queued.to_version) == ("queued", "2.0.0", "1.0.0")
    session.commit()
    assert run_worker() == 1
    done = rollbacks.get_rollback(session, rollback_id=queued.id, actor=SYSTEM)
    assert done.status == "succeeded", done.reason
    assert [(leg["leg"], leg["version"], leg["ok"], leg["within_target"]) for leg in done.legs] == [
        ("rollback", "1.0.0", True, True), ("forward", "2.0.0", True, True)]
    assert all(leg["checked"] == 1 for leg in done.legs)  # the service's one monitor was probed
    assert 0 < done.time_to_healthy_seconds < 300
    assert (tmp_path / "hook.log").read_text().split() == ["1.0.0", "2.0.0"]
    assert shop.version() == "2.0.0"  # rolled forward again
    ev = _evidence(session)
    assert ev.status == Status.FAIL and ev.reason.startswith(f"drill #{done.id} reached healthy in")
    assert "no rollback procedure document names 'shop'" in ev.reason
    _procedure(session, tmp_path, reviewed=False)
    assert "the rollback procedure is not reviewed: 'rollback.md' has never been reviewed" in _evidence(session).reason
    _procedure(session, tmp_path, reviewed=True)
    ev = _evidence(session)
    assert ev.status == Status.PASS and ev.reason.startswith(f"drill #{done.id} reached healthy in")
    assert "rollback procedure 'rollback.md' reviewed" in ev.reason
    assert [e.kind for e in activity][-1] == "deploy.drill_finished"


def test_a_slow_rollback_hook_fails_the_item_with_the_measured_time(session, tmp_path, shop, run_worker):
    _policy(session, tmp_path, sleep=1.2, target="1s")  # a short target keeps the test fast
    queued = rollbacks.request_drill(session, service="shop", actor=SYSTEM)
    session.commit()
    run_worker()
    done = rollbacks.get_rollback(session, rollback_id=queued.id, actor=SYSTEM)
    assert done.status == "succeeded" and done.time_to_healthy_seconds >= 1.2
    assert [leg["within_target"] for leg in done.legs] == [False, False]
    assert "the rollback leg took" in done.reason and "over the 1s target" in done.reason
    ev = _evidence(session)
    assert ev.status == Status.FAIL
    assert f"took {done.time_to_healthy_seconds:.1f}s to healthy, over the 1.0s target" in ev.reason
    assert ev.details["time_to_healthy_seconds"] == done.time_to_healthy_seconds


def test_a_rollback_that_never_gets_healthy_fails(session, tmp_path, run_worker):
    (tmp_path / "version").write_text("2.0.0")
    with VersionedService(tmp_path / "version", bad={"1.0.0", "2.0.0"}) as svc:
        make_service(session, name="shop", team="payments")
        make_monitor(session, name="shop-http", service="shop", http={"url": svc.url})
        _deployed(session, "1.0.0")
        _deployed(session, "2.0.0")
        _policy(session, tmp_path, timeout="1s")
        queued = rollbacks.request_rollback(session, service="shop", actor=SYSTEM)
        session.commit()
        run_worker()
    done = rollbacks.get_rollback(session, rollback_id=queued.id, actor=SYSTEM)
    assert done.status == "failed" and "not healthy after" in done.reason and "shop-http" in done.reason
    ev = _evidence(session)
    assert ev.status == Status.FAIL and "did not reach healthy after" in ev.reason


def test_a_real_rollback_marks_the_deploy_and_counts_as_evidence(session, tmp_path, shop, run_worker, activity):
    _policy(session, tmp_path)
    current = deploys.list_deploys(session, actor=SYSTEM, service="shop")[0]
    queued = rollbacks.request_rollback(session, service="shop", actor=SYSTEM)
    session.commit()
    run_worker()
    done = rollbacks.get_rollback(session, rollback_id=queued.id, actor=SYSTEM)
    assert done.status == "succeeded" and [leg["leg"] for leg in done.legs] == ["rollback"]
    assert shop.version() == "1.0.0"
    rolled = deploys.get_deploy(session, deploy_id=current.id, actor=SYSTEM)
    assert rolled.status == "rolled_back" and f"rollback #{done.id}" in rolled.reason
    assert activity[-1].kind == "deploy.rolled_back" and "rolled back to 1.0.0" in activity[-1].summary
    assert _evidence(session).status == Status.FAIL  # measured under target, but no rollback procedure yet
    assert "took" not in _evidence(session).reason and "no rollback procedure document" in _evidence(session).reason


def test_a_job_that_finds_its_rollback_running_does_not_run_the_hook_again(session, tmp_path, shop):
    from watchkeeper.deploys.models import Rollback

    _policy(session, tmp_path)
    queued = rollbacks.request_rollback(session, service="shop", actor=SYSTEM)
    session.get(Rollback, queued.id).status = "running"  # its worker died mid-run
    session.commit()
    from sqlalchemy.orm import sessionmaker

    done = rollbacks.execute(sessionmaker(bind=session.get_bind(), join_transaction_mode="create_savepoint"), rollback_id=queued.id)
    assert done.status == "failed" and "nothing was run again" in done.reason
    assert not (tmp_path / "hook.log").exists()


def test_requests_are_checked(session, tmp_path, shop, personas):
    with pytest.raises(PermissionDenied):
        rollbacks.request_drill(session, service="shop", actor=personas["bob"].actor)  # a responder may not
    with pytest.raises(InvalidInput, match="has no rollback hook"):
        rollbacks.request_drill(session, service="shop", actor=personas["alice"].actor)
    _policy(session, tmp_path)
    made = rollbacks.request_drill(session, service="shop", actor=personas["alice"].actor)
    assert made.requested_by == "alice"
    assert [r.id for r in rollbacks.list_rollbacks(session, actor=personas["alice"].actor)] == [made.id]
