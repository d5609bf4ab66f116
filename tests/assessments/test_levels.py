"""Audit levels: a level passes only when all its checks pass and no high or critical
finding is open; external tools post results; findings are resolved with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper import clock
from watchkeeper.assessments import _suites, measures
from watchkeeper.assessments import evidence as audit_evidence
from watchkeeper.assessments import service as assessments
from watchkeeper.assessments._suites import AuditLevel, OpenFinding, RunFacts, Severity, Suite, WebFacts
from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from watchkeeper.catalog.stages import Stage
from watchkeeper.errors import Conflict, InvalidInput
from watchkeeper.evidence import Evidence, Status
from watchkeeper.readiness import evaluation
from tests.factories.catalog import make_service
from tests.factories.readiness import post_result
from tests.factories.auth import SYSTEM as AUDIT_READER  # the audit log is for admins and auditors
from tests.factories.auth import SYSTEM

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def _hardened_facts(url="https://shop.example/") -> WebFacts:
    return WebFacts(url=url, scheme="https", tls_version="TLSv1.3", cert_trusted=True, cert_subject="shop.example",
                    cert_not_after=clock.utcnow() + dt.timedelta(days=200), status_code=200,
                    headers=[("strict-transport-security", "max-age=63072000"), ("x-content-type-options", "nosniff"),
                             ("x-frame-options", "DENY"), ("referrer-policy", "same-origin"),
                             ("content-security-policy", "default-src 'self'")])


def _passing_measures():
    """Stand-ins for the operations and performance evidence of domains tested elsewhere."""
    for check in ("monitors_present", "alerting_routed", "runbooks_lint_clean", "probe_latency", "slo_attainment"):
        measures.register_measure(check, lambda session, service, c=check: Evidence(Status.PASS, f"{c} ok"))


def _all_suites_complete(session, actor, name="shop"):
    assessments.run_builtin(session, service=name, suite="security", actor=actor, web=_hardened_facts())
    _passing_measures()
    assessments.run_builtin(session, service=name, suite="operations", actor=actor)
    assessments.run_builtin(session, service=name, suite="performance", actor=actor)
    post_result(session, name, "security", tool="zap", level="complete")
    post_result(session, name, "performance", tool="k6", level="complete")
    post_result(session, name, "accessibility", tool="lighthouse", level="complete")


def test_a_high_finding_keeps_the_audit_item_failing_and_resolving_it_flips_it_to_pass(session, system_actor, frozen_clock):
    make_service(session, name="shop", public_url="https://shop.example/")
    _all_suites_complete(session, system_actor)
    svc = evaluation.get_report(session, service="shop", stage=Stage.PROD, actor=system_actor)
    assert next(i for i in svc.items if i.check == "audits_complete").word == "pass"
    run = post_result(session, "shop", "security", tool="pip-audit", level="complete",
                      findings=[("high", "jinja2 3.1.2 has CVE-2024-22195"), ("low", "outdated pip")])
    item = next(i for i in evaluation.get_report(session, service="shop", stage=Stage.PROD, actor=system_actor).items
                if i.check == "audits_complete")
    assert item.word == "fail" and "open high/critical finding" in item.reason and "CVE-2024-22195" in item.reason
    high = next(f for f in run.findings if f.severity is Severity.HIGH)
    assessments.resolve_finding(session, service="shop", finding_id=high.id, reason="upgraded jinja2 to 3.1.4", actor=system_actor)
    item = next(i for i in evaluation.get_report(session, service="shop", stage=Stage.PROD, actor=system_actor).items
                if i.check == "audits_complete")
    assert item.word == "pass"  # the low finding stays open but does not block
    event = audit.list_events(session, filter=AuditFilter(action="assessment.resolve"), actor=AUDIT_READER)[0]
    assert event.note == "upgraded jinja2 to 3.1.4" and event.before["severity"] == "high"
    with pytest.raises(Conflict):
        assessments.resolve_finding(session, service="shop", finding_id=high.id, reason="again", actor=system_actor)


def test_a_tool_s_newest_result_replaces_its_previous_findings(session, system_actor, frozen_clock):
    svc = make_service(session, name="shop", public_url="https://shop.example/")
    assessments.run_builtin(session, service="shop", suite="security", actor=system_actor, web=_hardened_facts())
    post_result(session, "shop", "security", tool="bandit", level="standard", findings=[("critical", "hardcoded password")])
    assert audit_evidence.security_review(session, svc).status is Status.FAIL
    clock.advance(dt.timedelta(hours=1))
    post_result(session, "shop", "security", tool="bandit", level="standard")
    ev = audit_evidence.security_review(session, svc)
    assert ev.status is Status.PASS and ev.details["passes"] == {"security": True}


def test_security_review_passes_at_standard_but_audits_complete_needs_every_suite(session, system_actor, frozen_clock):
    svc = make_service(session, name="shop", public_url="https://shop.example/")
    assessments.run_builtin(session, service="shop", suite="security", actor=system_actor, web=_hardened_facts())
    assert audit_evidence.security_review(session, svc).status is Status.PASS
    ev = audit_evidence.audits_complete(session, svc)
    assert ev.status is Status.FAIL
    assert ev.reason.startswith("security: Security scan by an external tool at level complete: no security result")
    assert "(+3 more suite(s) failing)" in ev.reason


def test_external_results_older_than_90_days_and_built_in_runs_older_than_30_days_do_not_count(session, system_actor, frozen_clock):
    svc = make_service(session, name="shop", public_url="https://shop.example/")
    post_result(session, "shop", "accessibility", tool="lighthouse", level="complete")
    levels = assessments.suite_levels(session, [svc], [Suite.ACCESSIBILITY])["shop"][Suite.ACCESSIBILITY]
    assert levels[0] is AuditLevel.COMPLETE
    clock.advance(dt.timedelta(days=91))
    levels = assessments.suite_levels(session, [svc], [Suite.ACCESSIBILITY])["shop"][Suite.ACCESSIBILITY]
    assert levels[0] is None and "in the last 90 days" in levels[1][0].problems[0]
    assessments.run_builtin(session, service="shop", suite="security", actor=system_actor, web=_hardened_facts())
    clock.advance(dt.timedelta(days=31))
    _, results, _ = assessments.suite_levels(session, [svc], [Suite.SECURITY])["shop"][Suite.SECURITY]
    assert "over 30 days ago" in results[0].problems[0]


def test_unwired_measures_read_unknown_and_fail_the_level(session, system_actor):
    make_service(session, name="shop")
    for check in ("monitors_present", "alerting_routed", "runbooks_lint_clean"):
        measures.unregister_measure(check)
    run = assessments.run_builtin(session, service="shop", suite="operations", actor=system_actor)
    assert {c.id: c.status for c in run.checks} == {"monitors_present": "unknown", "alerting_routed": "unknown",
                                                     "runbooks_lint_clean": "unknown"}
    assert run.findings == []  # unknown is not a finding, but the level does not pass
    status = next(s for s in assessments.service_audits(session, actor=SYSTEM, service="shop").suites if s.suite is Suite.OPERATIONS)
    assert status.passed_level is None and "no monitors are measured yet" in status.levels[0].problems[0]


def test_posted_results_are_validated_and_audited(session, system_actor, frozen_clock):
    make_service(session, name="shop")
    with pytest.raises(InvalidInput, match="reserved for built-in checks"):
        post_result(session, "shop", "security", tool="watchkeeper")
    with pytest.raises(InvalidInput, match="in the future"):
        post_result(session, "shop", "security", ran_at=clock.utcnow() + dt.timedelta(hours=1))
    run = post_result(session, "shop", "security", tool="pip-audit", findings=[("medium", "a"), ("medium", "b"), ("high", "c")])
    event = audit.list_events(session, filter=AuditFilter(action="assessment.post"), actor=AUDIT_READER)[0]
    assert event.after == {"run": run.id, "suite": "security", "tool": "pip-audit", "level": "complete",
                           "findings": {"high": 1, "medium": 2}}


runs = st.lists(st.builds(
    lambda builtin, level, age, statuses: RunFacts(
        tool="watchkeeper" if builtin else "tool", builtin=builtin, level=level, ran_at=NOW - dt.timedelta(days=age),
        checks={c.id: (s, "r") for c, s in zip(_suites.SUITES[Suite.SECURITY], statuses)}),
    st.booleans(), st.sampled_from(list(AuditLevel)), st.integers(0, 120),
    st.lists(st.sampled_from(["pass", "warn", "fail", "unknown"]), min_size=9, max_size=9)), max_size=3)
findings = st.lists(st.builds(lambda s: OpenFinding(s, "t", "tool"), st.sampled_from(list(Severity))), max_size=3)


@settings(max_examples=200)
@given(suite=st.sampled_from(list(Suite)), runs=runs, findings=findings)
def test_passing_a_level_implies_passing_every_level_below(suite, runs, findings):
    results = [_suites.evaluate_level(suite, lvl, service="s", runs=runs, findings=findings, now=NOW) for lvl in _suites.LEVELS]
    for lower, higher in zip(results, results[1:]):
        assert not higher.passed or lower.passed
    if any(f.severity in (Severity.HIGH, Severity.CRITICAL) for f in findings):
        assert not any(r.passed for r in results)
