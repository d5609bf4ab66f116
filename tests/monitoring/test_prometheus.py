"""PromQL monitors and PromQL-sourced alert rules against a real Prometheus."""

from __future__ import annotations

import pytest

from tests.factories.catalog import make_service
from tests.monitoring.prometheus import prometheus
from tests.monitoring.servers import HttpTarget
from tests.monitoring.test_probes import probe
from watchkeeper.monitoring.metrics import rules
from watchkeeper.monitoring.metrics.schemas import RuleCreate
from watchkeeper.monitoring.models import Rule
from watchkeeper.signals.schemas import SignalFilter
from watchkeeper.signals.service import list_signals
from tests.factories.auth import SYSTEM

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    with HttpTarget() as target, prometheus(tmp_path_factory.mktemp("prom"), f"127.0.0.1:{target.port}") as url:
        yield url


def test_promql_monitor_passes_and_fails_on_the_threshold(prom):
    ok = probe("prometheus", url=prom, query='orders_total{job="shop"}', op=">", threshold=5)
    assert ok.ok, ok.error
    assert {s["labels"]["region"] for s in ok.details["series"]} == {"eu", "us"}
    bad = probe("prometheus", url=prom, query='orders_total{job="shop"}', op=">", threshold=10)
    assert not bad.ok
    assert bad.error.startswith("1 of 2 series fail 'value > 10':") and 'region="us"' in bad.error and "= 7" in bad.error


def test_promql_monitor_empty_result_and_bad_query(prom):
    empty = probe("prometheus", url=prom, query='orders_total{region="mars"}')
    assert not empty.ok and empty.error.startswith("query returned no series")
    assert probe("prometheus", url=prom, query='orders_total{region="mars"}', empty="up").ok
    bad = probe("prometheus", url=prom, query="sum(orders_total")
    assert not bad.ok and bad.error.startswith("Prometheus rejected the query")


def test_promql_rule_fires_per_series_and_resolves(session, prom, system_actor):
    make_service(session, name="shop")
    rules.create_rule(session, data=RuleCreate(
        name="orders-low", source="prometheus", prometheus_url=prom, expr='orders_total{job="shop"} < 10',
        service="shop", annotations={"summary": "orders in {{ $labels.region }} at {{ $value }}"},
    ), actor=system_actor)
    rule = session.query(Rule).filter_by(name="orders-low").one()
    assert rules.evaluate_rule(session, rule) == 1
    fired = list_signals(session, actor=SYSTEM, filter=SignalFilter(source="rule", name="orders-low"))
    assert len(fired) == 1 and fired[0].firing
    assert fired[0].labels["region"] == "us" and fired[0].annotations["summary"] == "orders in us at 7"
    rules.update_rule(session, name="orders-low", data=rules.RuleUpdate(expr='orders_total{job="shop"} < 1'), actor=system_actor)
    resolved = list_signals(session, actor=SYSTEM, filter=SignalFilter(source="rule", name="orders-low"))
    assert [s.firing for s in resolved] == [False, True]
