"""Readiness evidence: "monitoring active" and "SLO defined and achievable"."""

from __future__ import annotations

import datetime as dt

from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from tests.monitoring.test_results import Feed
from watchkeeper import clock
from watchkeeper.catalog.schemas import Targets
from watchkeeper.evidence import Status
from watchkeeper.clock import to_ms
from watchkeeper.monitoring import evidence
from watchkeeper.monitoring.metrics import store
from watchkeeper.readiness import registry


def test_monitoring_active_fails_without_monitors_and_passes_with_fresh_results(session, frozen_clock):
    svc = make_service(session, name="pay")
    none = evidence.monitoring_active(session, svc)
    assert none.status == Status.FAIL and none.reason.startswith("no monitors watch 'pay'")
    make_monitor(session, name="pay-home", service="pay", interval="1m", failures_before_down=1)
    stale = evidence.monitoring_active(session, svc)
    assert stale.status == Status.FAIL and "pay-home (no result yet)" in stale.reason
    feed = Feed(session, "pay-home")
    feed(True)
    live = evidence.monitoring_active(session, svc)
    assert live.status == Status.PASS and live.reason == "1 monitor live and up" and live.observed_at == frozen_clock
    feed(False)
    assert evidence.monitoring_active(session, svc).status == Status.WARN
    clock.advance(dt.timedelta(minutes=10))
    assert evidence.monitoring_active(session, svc).status == Status.FAIL  # nothing reported for 3 intervals


def test_slo_achievable_needs_a_target_data_and_a_week(session, frozen_clock):
    bare = make_service(session, name="bare")
    assert evidence.slo_achievable(session, bare).reason.startswith("'bare' declares no SLO or SLA target")
    svc = make_service(session, name="pay", targets=Targets(slo=99.0, slo_window="30d"))
    make_monitor(session, name="pay-home", service="pay")

    def probes(days: float, fail_every: int):
        n = int(days * 24 * 12)
        store.write(session, [("probe_success", {"monitor": "pay-home", "location": "*"},
                               0.0 if i % fail_every == 0 else 1.0, to_ms(frozen_clock) - (n - i) * 300_000) for i in range(n)])

    probes(2, fail_every=1000)
    young = evidence.slo_achievable(session, svc)
    assert young.status == Status.WARN and "only 2 day(s) of data" in young.reason
    probes(8, fail_every=1000)
    good = evidence.slo_achievable(session, svc)
    assert good.status == Status.PASS and good.details["target_percent"] == 99.0
    probes(1, fail_every=10)  # a bad day: 10 % failures drags the window under 99 %
    bad = evidence.slo_achievable(session, svc)
    assert bad.status == Status.FAIL and "below the 99% target" in bad.reason


def test_providers_are_registered_with_the_readiness_engine(container):
    assert registry.provider_for("monitoring_active") is evidence.monitoring_active
    assert registry.provider_for("slo_achievable") is evidence.slo_achievable
    assert registry.batch_provider_for("monitoring_active") is evidence.monitoring_active_batch


def test_probe_latency_needs_measurements_and_judges_p95_against_the_limit(session, frozen_clock):
    """Issue 10.13: the performance suite's probe_latency was never measured."""
    svc = make_service(session, name="pay")
    none = evidence.probe_latency(session, svc)
    assert none.status == Status.FAIL and none.reason.startswith("no probe latency measured for 'pay'")
    make_monitor(session, name="pay-home", service="pay", http={"url": "http://127.0.0.1:9/"})
    feed = Feed(session, "pay-home")
    for _ in range(20):
        feed(True)  # 12.5 ms each
    unlimited = evidence.probe_latency(session, svc)
    assert unlimited.status == Status.WARN and "pay-home p95 12 ms" in unlimited.reason  # 12.5 rounds to even
    make_monitor(session, name="pay-api", service="pay", http={"url": "http://127.0.0.1:9/api", "max_latency": "10ms"})
    api = Feed(session, "pay-api")
    for _ in range(20):
        api(True)
    over = evidence.probe_latency(session, svc)
    assert over.status == Status.FAIL and "pay-api p95 12 ms over its 10 ms limit" in over.reason
    assert over.details["pay-api"] == {"p95_ms": 12.5, "limit_ms": 10.0, "checks": 20}


def test_probe_latency_passes_within_the_limit_and_forgets_checks_older_than_a_day(session, frozen_clock):
    svc = make_service(session, name="pay")
    make_monitor(session, name="pay-api", service="pay", http={"url": "http://127.0.0.1:9/api", "max_latency": "20ms"})
    api = Feed(session, "pay-api")
    for _ in range(20):
        api(True)
    ok = evidence.probe_latency(session, svc)
    assert ok.status == Status.PASS and "pay-api p95 12 ms within 20 ms" in ok.reason
    clock.advance(dt.timedelta(hours=25))
    assert evidence.probe_latency(session, svc).status == Status.FAIL


def test_every_built_in_operations_and_performance_check_has_a_measure(container):
    """A suite check without a registered measure can never pass (issue 10.13). Security checks
    are measured from a visit to the public URL; checks owned by a domain not built yet are named."""
    from watchkeeper.assessments import _suites, measures

    not_yet_built = {"runbooks_lint_clean": "the runbooks domain (issue 14) measures it"}
    wired = measures.snapshot()
    missing = [c.id for suite in _suites.Suite if suite is not _suites.Suite.SECURITY for c in _suites.builtin_checks(suite)
               if c.id not in wired and c.id not in not_yet_built]
    assert missing == []
    assert wired["probe_latency"] is evidence.probe_latency
