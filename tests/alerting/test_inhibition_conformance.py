"""Inhibit rules behave as Alertmanager's (inhibit/inhibit.go): the cases of its
inhibit_test.go tables, ported, against the Inhibitor that a flush uses, and issue 10's
cluster-wide outage through ingest, flush and a real SMTP server."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories.alerting import alert, configure, email_receiver, ingest
from watchkeeper import clock
from watchkeeper.alerting.inhibition import Inhibitor
from watchkeeper.alerting.models import Alert
from watchkeeper.alerting.routing import InhibitRule
from watchkeeper.labels import fingerprint, parse_matchers


def _rule(source: list[str], target: list[str], equal: list[str]) -> InhibitRule:
    return InhibitRule(parse_matchers(source), parse_matchers(target), tuple(equal), "test rule")


def _mutes(session, rules, labels: dict[str, str]) -> bool:
    inhibitor = Inhibitor(session, clock.utcnow(), rules, graph=None)
    return inhibitor.is_suppressed(labels, fingerprint=fingerprint(labels), at=clock.utcnow()) is not None


# TestInhibitRuleMatches (source_match/target_match) and TestInhibitRuleMatchers (matchers, with a
# != target on rule 1): rule 1 has a source alert that matches only its source side; rule 2 has
# one that matches both its sides.
MATCH_RULES = ([['s1="1"'], ['t1="1"'], ["e"]], [['s2="1"'], ['t2="1"'], ["e"]])
MATCHERS_RULES = ([['s1="1"'], ['t1!="1"'], ["e"]], [['s2="1"'], ['t2="1"'], ["e"]])
SOURCES = ({"alertname": "Src1", "s1": "1", "t1": "2", "e": "1"}, {"alertname": "Src2", "s2": "1", "t2": "1", "e": "1"})


@pytest.mark.parametrize("rules,target,muted", [
    (MATCH_RULES, {"t1": "1", "e": "1"}, True),  # target of rule 1
    (MATCH_RULES, {"t2": "1", "e": "1"}, True),  # target of rule 2
    (MATCH_RULES, {"t1": "1", "t3": "1", "e": "1"}, True),  # target of rule 1, plus noise
    (MATCH_RULES, {"t1": "1", "t2": "1", "e": "1"}, True),  # targets of both rules
    (MATCH_RULES, {"t1": "0", "e": "1"}, False),  # no target side matches
    (MATCH_RULES, {"s1": "1", "t1": "1", "e": "1"}, True),  # both sides of rule 1; its source matches one side only
    (MATCH_RULES, {"s2": "1", "t2": "1", "e": "1"}, False),  # both sides of rule 2, and so does its source
    (MATCH_RULES, {"t1": "1", "e": "0"}, False),  # equal label differs
    (MATCHERS_RULES, {"t1": "1", "e": "1"}, False),
    (MATCHERS_RULES, {"t2": "1", "e": "1"}, True),
    (MATCHERS_RULES, {"t1": "1", "t3": "1", "e": "1"}, False),
    (MATCHERS_RULES, {"t1": "1", "t2": "1", "e": "1"}, True),
    (MATCHERS_RULES, {"t1": "0", "e": "1"}, True),
    (MATCHERS_RULES, {"s1": "1", "t1": "1", "e": "1"}, False),
    (MATCHERS_RULES, {"s2": "1", "t2": "1", "e": "1"}, True),
    (MATCHERS_RULES, {"t1": "1", "e": "0"}, False),
], ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_alertmanager_inhibit_rule_matches(session, frozen_clock, rules, target, muted):
    ingest(session, *(alert(**labels) for labels in SOURCES))
    assert _mutes(session, [_rule(*r) for r in rules], target) is muted


@pytest.mark.parametrize("sources,equal,target,muted", [
    ([], [], {"a": "b"}, False),  # no source alerts at all
    ([{"x": "1"}], [], {"a": "b"}, True),  # no equal labels: any source alert inhibits
    ([{"a": "b", "b": "f"}, {"a": "b", "b": "c"}], ["a", "b"], {"a": "b", "b": "c"}, True),
    ([{"a": "b", "c": "d"}, {"a": "b", "c": "f"}], ["a"], {"a": "b"}, True),
    ([{"a": "c", "c": "d"}, {"a": "c", "c": "f"}], ["a"], {"a": "b"}, False),  # equal label does not match
    ([{"c": "d"}], ["a"], {"b": "x"}, True),  # an equal label missing on both sides is equal (empty)
])
def test_alertmanager_inhibit_rule_has_equal(session, frozen_clock, sources, equal, target, muted):
    """TestInhibitRuleHasEqual: every firing alert is a source (source side `src="1"`)."""
    if sources:
        ingest(session, *(alert(f"Src{i}", src="1", **labels) for i, labels in enumerate(sources)))
    assert _mutes(session, [_rule(['src="1"'], ['tgt!="never"'], equal)], target) is muted


def test_alertmanager_inhibit_resolved_sources_inhibit_nothing(session, frozen_clock):
    """TestInhibit and the resolved case of TestInhibitRuleHasEqual: a source inhibits while it
    fires, not after it resolved, and the source itself is never muted."""
    rules = [_rule(['s="1"'], ['t="1"'], ["e"])]
    ingest(session, alert("One", t="1", e="f"))
    assert not _mutes(session, rules, {"t": "1", "e": "f"})  # alertTwo has not fired
    ingest(session, alert("Two", s="1", e="f"))
    assert _mutes(session, rules, {"t": "1", "e": "f"})
    assert not _mutes(session, rules, {"alertname": "Two", "s": "1", "e": "f"})
    now = clock.utcnow()
    ingest(session, alert("Two", s="1", e="f", status="resolved", ends_at=now - dt.timedelta(seconds=1)))
    assert not _mutes(session, rules, {"t": "1", "e": "f"})


def test_two_alerts_matching_both_sides_do_not_inhibit_each_other(session, frozen_clock, smtp_server, worker):
    """Issue 10, item 1: a cluster-wide outage paged nobody. DiskFull and NodeDown match both
    sides, so they page; only HighLatency (target side only) is inhibited."""
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], dependency_inhibition=False,
              route={"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s", "group_interval": "1m", "repeat_interval": "4h"},
              inhibit_rules=[{"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"critical|warning"'],
                              "equal": ["cluster"]}])
    ingest(session, alert("DiskFull", severity="critical", cluster="eu1"), alert("NodeDown", severity="critical", cluster="eu1"),
           alert("HighLatency", severity="warning", cluster="eu1"), alert("HighLatency", severity="warning", cluster="us1"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    session.expire_all()
    assert sorted(smtp_server.subjects()) == ["[FIRING:1] DiskFull", "[FIRING:1] HighLatency", "[FIRING:1] NodeDown"]
    assert "cluster=us1" in [b for b in smtp_server.bodies() if "HighLatency" in b][0]
    states = {(r.alertname, r.labels["cluster"]): r.state for r in session.execute(select(Alert)).scalars()}
    assert states == {("DiskFull", "eu1"): "active", ("NodeDown", "eu1"): "active",
                      ("HighLatency", "eu1"): "inhibited", ("HighLatency", "us1"): "active"}
