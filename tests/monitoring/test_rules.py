"""The alert-rule language and rule evaluation: for-durations, groups, labels, annotations."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from tests.factories.catalog import make_service
from watchkeeper import clock
from watchkeeper.monitoring.metrics import language, rules, store
from watchkeeper.monitoring.metrics.schemas import MetricSample, RuleCreate, RuleUpdate
from watchkeeper.monitoring.models import Rule
from tests.factories.auth import SYSTEM

# ---------------------------------------------------------------- the language

labels = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s != "by")
values = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
matchers = st.builds(language.Matcher, labels, st.sampled_from(["=", "!="]), values)
selectors = st.builds(language.Selector, st.from_regex(r"[a-z_:][a-z0-9_:]{0,12}", fullmatch=True).filter(lambda s: s != "by"),
                      st.lists(matchers, max_size=3).map(tuple))
windows = st.sampled_from([30, 60, 300, 3600, 5400, 86400])
queries = st.one_of(
    st.builds(language.Query, st.sampled_from(["avg", "min", "max", "sum", "count", "last", "rate", "increase"]), selectors,
              windows, st.lists(labels, max_size=2, unique=True).map(tuple)),
    st.builds(language.Query, st.just("quantile"), selectors, windows, st.just(()), st.sampled_from([0.5, 0.9, 0.99])),
)
rules_st = st.builds(language.Rule, queries, st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
                     st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).map(lambda f: round(f, 3)))


@settings(max_examples=300, deadline=None)
@given(rule=rules_st)
def test_format_then_parse_gives_the_same_rule(rule):
    assert language.parse(rule.format()) == rule


@pytest.mark.parametrize("text, message", [
    ("", "the rule is empty"),
    ("avg(x[5m]", "the rule ends early; expected )"),
    ("median(x[5m]) > 1", "unknown aggregation 'median'"),
    ("avg(x) > 1", "expected a window like [5m] at position 6"),
    ("avg(x[5m]) > ", "expected a number to compare with"),
    ('avg(x{a~"b"}[5m]) > 1', "unexpected '~\"b\"}[5m]) > 1' at position 8"),
    ('avg(x{a=~"("}[5m]) > 1', "regular expression '(' for a is invalid"),
    ("quantile(2, x[5m]) > 1", "quantile 2.0 must be between 0 and 1"),
    ("avg(x[5m]) > 1 extra", "unexpected 'extra' at position 16; the rule should end here"),
    ("avg by (a) (x[5m]) by (b) > 1", "'by' is given twice"),
])
def test_syntax_errors_say_where_and_what(text, message):
    with pytest.raises(language.RuleSyntaxError) as exc:
        language.parse(text)
    assert message in str(exc.value)


def test_both_by_positions_and_matchers_work():
    a = language.parse('avg by (region) (latency_seconds{route=~"/pay.*", code!="500"}[5m]) >= 0.3')
    b = language.parse('avg(latency_seconds{route=~"/pay.*", code!="500"}[5m]) by (region) >= 0.3')
    assert a == b and a.query.by == ("region",) and a.query.window_seconds == 300
    assert a.query.selector.matches("latency_seconds", {"route": "/pay/card", "code": "200"})
    assert not a.query.selector.matches("latency_seconds", {"route": "/pay/card", "code": "500"})
    assert language.parse("last(info_metric[1m]) > 0").query.selector.name == "info_metric"


def test_a_rule_without_comparison_is_refused_in_config():
    with pytest.raises(ValidationError, match="expr needs a comparison at the end"):
        RuleCreate(name="r", expr="avg(x[5m])")
    with pytest.raises(ValidationError, match="source: prometheus needs prometheus_url"):
        RuleCreate(name="r", expr="up == 0", source="prometheus")


# ---------------------------------------------------------------- evaluation


def _push(session, actor, region: str, value: float):
    store.push(session, samples=[MetricSample(name="queue_depth", labels={"region": region}, value=value)], actor=actor)


def test_rule_is_pending_for_its_duration_then_fires_per_group_and_resolves(session, system_actor, frozen_clock, published):
    make_service(session, name="orders")
    rules.create_rule(session, data=RuleCreate.model_validate({
        "name": "queue-backlog", "expr": "max(queue_depth[2m]) by (region) > 100", "for": "3m", "service": "orders",
        "severity": "critical", "labels": {"team": "payments"},
        "annotations": {"summary": "queue in {{ $labels.region }} at {{ $value }}", "runbook_url": "https://rb.test/q"},
    }), actor=system_actor)
    rule = session.execute(select(Rule)).scalar_one()
    _push(session, system_actor, "eu", 500)
    _push(session, system_actor, "us", 5)
    assert rules.evaluate_rule(session, rule) == 0
    assert [(a.labels, a.state) for a in rules.get_rule(session, actor=SYSTEM, name="queue-backlog").alerts] == [({"region": "eu"}, "pending")]
    for _ in range(3):
        clock.advance(dt.timedelta(minutes=1))
        _push(session, system_actor, "eu", 500)
        rules.evaluate_rule(session, rule)
    assert [e.firing for e in published] == [True]
    event = published[0]
    assert event.source == "rule" and event.service == "orders" and event.severity == "critical"
    assert event.labels == {"team": "payments", "region": "eu", "rule": "queue-backlog", "alertname": "queue-backlog",
                            "service": "orders", "severity": "critical"}
    assert event.annotations == {"summary": "queue in eu at 500", "runbook_url": "https://rb.test/q"}
    clock.advance(dt.timedelta(minutes=5))  # no new samples: the window empties, the alert resolves
    assert rules.evaluate_rule(session, rule) == 1
    assert [e.firing for e in published] == [True, False]
    assert rules.get_rule(session, actor=SYSTEM, name="queue-backlog").alerts == []


def test_a_blip_shorter_than_for_never_fires(session, system_actor, frozen_clock, published):
    rules.create_rule(session, data=RuleCreate.model_validate({"name": "r", "expr": "max(queue_depth[1m]) > 100", "for": "5m"}),
                      actor=system_actor)
    rule = session.execute(select(Rule)).scalar_one()
    _push(session, system_actor, "eu", 500)
    rules.evaluate_rule(session, rule)
    clock.advance(dt.timedelta(minutes=2))
    rules.evaluate_rule(session, rule)
    assert published == [] and rules.get_rule(session, actor=SYSTEM, name="r").alerts == []


def test_evaluate_due_respects_every_and_errors_are_kept_on_the_rule(session, system_actor, frozen_clock):
    rules.create_rule(session, data=RuleCreate.model_validate({"name": "slow", "expr": "avg(x[1m]) > 1", "every": "5m"}),
                      actor=system_actor)
    rules.create_rule(session, data=RuleCreate.model_validate({"name": "remote", "expr": "up == 0", "source": "prometheus",
                                                               "prometheus_url": "http://127.0.0.1:9"}), actor=system_actor)
    rules.evaluate_due(session)
    first = {r.name: r.last_eval_at for r in rules.list_rules(session, actor=system_actor)}
    clock.advance(dt.timedelta(minutes=2))
    rules.evaluate_due(session)
    after = {r.name: r for r in rules.list_rules(session, actor=system_actor)}
    assert after["slow"].last_eval_at == first["slow"]  # not due yet
    assert after["remote"].last_eval_at > first["remote"]
    assert after["remote"].last_error.startswith("Prometheus at http://127.0.0.1:9 did not answer")


def test_rule_crud_is_audited_and_deleting_resolves(session, system_actor, published):
    rules.create_rule(session, data=RuleCreate.model_validate({"name": "r", "expr": "max(queue_depth[1m]) > 1"}), actor=system_actor)
    _push(session, system_actor, "eu", 5)
    rules.evaluate_rule(session, session.execute(select(Rule)).scalar_one())
    assert rules.update_rule(session, name="r", data=RuleUpdate(severity="critical"), actor=system_actor).severity == "critical"
    rules.delete_rule(session, name="r", actor=system_actor)
    assert [e.firing for e in published] == [True, False]
    from watchkeeper.audit.models import AuditEvent

    actions = session.execute(select(AuditEvent.action).where(AuditEvent.target == "rule:r").order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["rule.create", "rule.update", "rule.delete"]
