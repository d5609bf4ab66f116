"""Continuous evaluation: item history, readiness regressions raised and resolved as signals
the alert pipeline turns into alerts, and refreshes queued when evidence changes."""

from __future__ import annotations

import datetime as dt

import pytest

from watchkeeper import clock, events
from watchkeeper.catalog.stages import Stage
from watchkeeper.signals.events import SignalChanged
from watchkeeper.signals.schemas import SignalFilter
from watchkeeper.signals.service import list_signals
from watchkeeper.readiness import continuous, evaluation
from watchkeeper.queue import service as queue
from watchkeeper.queue.schemas import JobFilter
from tests.factories.catalog import make_service
from tests.factories.readiness import make_role, sign, waive
from tests.factories.auth import SYSTEM

PROD_ITEMS = ["audits_complete", "monitoring_active", "alerting_active", "backup_restore_tested", "runbook_reviewed",
              "oncall_coverage", "refine_signoff", "rollback_drilled", "slo_achievable", "incident_process", "dr_plan"]


@pytest.fixture
def signals():
    seen: list[SignalChanged] = []
    events.subscribe(SignalChanged, lambda s, e: seen.append(e), name="test.collect_signals")
    yield seen
    events.unsubscribe(SignalChanged, "test.collect_signals")


def _make_ready_prod(session, name="api", *, backup_days=10):
    make_service(session, name=name, stage="PROD", tier=1)
    for check in PROD_ITEMS:
        waive(session, name, check, days=backup_days if check == "backup_restore_tested" else 60)


def test_history_records_each_change_of_an_item_once(session, system_actor, frozen_clock):
    make_service(session, name="svc", stage="MMP")
    continuous.refresh(session, actor=system_actor, services=["svc"])
    continuous.refresh(session, actor=system_actor, services=["svc"])  # nothing changed: no new rows
    first = continuous.history(session, service="svc", check="backup_restore_tested", actor=system_actor)
    assert [h.word for h in first] == ["unknown"]
    clock.advance(dt.timedelta(hours=1))
    waive(session, "svc", "backup_restore_tested", days=1)
    continuous.refresh(session, actor=system_actor, services=["svc"])
    clock.advance(dt.timedelta(days=1, hours=1))
    continuous.refresh(session, actor=system_actor, services=["svc"])
    rows = continuous.history(session, service="svc", check="backup_restore_tested", actor=system_actor)
    assert [h.word for h in rows] == ["unknown", "waived", "unknown"]
    assert rows[0].at - rows[1].at == dt.timedelta(days=1, hours=1)
    # Both the current stage's (MMP) and the next stage's (PROD) items are tracked.
    tracked = {h.check for h in continuous.history(session, service="svc", actor=system_actor)}
    assert {"load_test", "stakeholder_signoff", "dr_plan", "refine_signoff"} <= tracked
    item = next(i for i in evaluation.get_report(session, service="svc", stage=Stage.PROD, actor=system_actor).items
                if i.check == "backup_restore_tested")
    assert item.since == rows[0].at


def test_a_prod_service_falling_out_of_readiness_raises_a_regression_and_recovering_resolves_it(
        session, system_actor, frozen_clock, signals):
    _make_ready_prod(session, backup_days=10)
    assert continuous.refresh(session, actor=system_actor, services=["api"]).regressions_opened == []
    clock.advance(dt.timedelta(days=11))  # the backup evidence goes stale: its waiver expired
    summary = continuous.refresh(session, actor=system_actor, services=["api"])
    assert summary.regressions_opened == ["api"]
    fired = [s for s in signals if s.source == "readiness"]
    assert len(fired) == 1 and fired[0].firing
    # Labelled like every internal signal (severity too, so a route on severity reaches it).
    assert fired[0].labels == {"alertname": "ReadinessRegression", "service": "api", "source": "readiness", "severity": "critical"}
    assert fired[0].severity == "critical" and fired[0].service == "api"
    # Recorded in the signal history like every other internal signal.
    history = list_signals(session, actor=SYSTEM, filter=SignalFilter(source="readiness", name="ReadinessRegression"))
    assert [(h.firing, h.service) for h in history] == [(True, "api")]
    assert "backup_restore_tested" in fired[0].annotations["description"]
    assert continuous.regression_state(session, actor=SYSTEM, service="api") == clock.utcnow()
    # Still failing: no second page.
    assert continuous.refresh(session, actor=system_actor, services=["api"]).regressions_opened == []
    waive(session, "api", "backup_restore_tested", days=30, reason="restore test scheduled for Friday")
    summary = continuous.refresh(session, actor=system_actor, services=["api"])
    assert summary.regressions_resolved == ["api"]
    resolved = [s for s in signals if s.source == "readiness"][-1]
    assert not resolved.firing and resolved.ends_at == clock.utcnow() and resolved.labels == fired[0].labels
    assert continuous.regression_state(session, actor=SYSTEM, service="api") is None


def test_the_regression_becomes_an_alert_in_the_pipeline(session, system_actor, frozen_clock, personas):
    from watchkeeper.alerting import service as alerting
    from watchkeeper.alerting.schemas import AlertFilter

    _make_ready_prod(session, name="api", backup_days=2)
    continuous.refresh(session, actor=system_actor, services=["api"])
    clock.advance(dt.timedelta(days=3))
    continuous.refresh(session, actor=system_actor, services=["api"])
    alerts = alerting.list_alerts(session, filter=AlertFilter(alertname="ReadinessRegression"), actor=personas["root"].actor)
    assert [(a.service, a.status.value) for a in alerts] == [("api", "firing")]


def test_services_never_ready_do_not_page_but_show_red(session, system_actor, signals):
    make_service(session, name="legacy", stage="PROD")
    summary = continuous.refresh(session, actor=system_actor, services=["legacy"])
    summary = continuous.refresh(session, actor=system_actor, services=["legacy"])
    assert summary.regressions_opened == [] and not [s for s in signals if s.source == "readiness"]
    card = evaluation.scorecard(session, actor=system_actor, services=["legacy"])
    assert card.rows[0].word == "not ready"


def test_a_demoted_service_closes_its_regression(session, system_actor, frozen_clock, signals):
    _make_ready_prod(session, backup_days=1)
    continuous.refresh(session, actor=system_actor, services=["api"])
    clock.advance(dt.timedelta(days=2))
    continuous.refresh(session, actor=system_actor, services=["api"])
    from watchkeeper.catalog import service as catalog

    catalog.demote(session, name="api", to=Stage.MMP, reason="backups broken", actor=system_actor)
    assert continuous.refresh(session, actor=system_actor, services=["api"]).regressions_resolved == ["api"]


def test_evidence_changes_queue_one_coalesced_refresh_per_service(session, system_actor, people, frozen_clock):
    make_service(session, name="svc")
    make_role(session)
    sign(session, "svc")
    waive(session, "svc", "dr_plan")
    jobs = [j for j in queue.list_jobs(session, actor=SYSTEM, filter=JobFilter(kind="readiness.refresh")) if j.payload == {"services": ["svc"]}]
    assert len(jobs) == 1
    assert jobs[0].run_after > clock.utcnow()


def test_the_refresh_job_runs_through_the_worker(session_factory, container, system_actor, frozen_clock):
    from watchkeeper import app as composition

    with session_factory() as s:
        _make_ready_prod(s, name="api", backup_days=1)
        s.commit()
    clock.advance(dt.timedelta(minutes=1))
    worker = composition.worker(container, session_factory=session_factory)
    assert worker.run_once() >= 1
    with session_factory() as s:
        jobs = queue.list_jobs(s, actor=SYSTEM, filter=JobFilter(kind="readiness.refresh"))
        assert jobs and all(j.status.value == "succeeded" for j in jobs)
        assert jobs[0].result["evaluated"] == 1
        assert continuous.history(s, service="api", check="backup_restore_tested", actor=system_actor)[0].word == "waived"
