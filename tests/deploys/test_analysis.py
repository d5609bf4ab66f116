"""Rollout analysis over metrics (issue 16 item 3): a metric query from the metrics store fails
a sample while it holds; bad queries are refused when declared."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.factories.catalog import make_service
from watchkeeper import clock
from watchkeeper.clock import to_ms
from watchkeeper.deploys import health
from watchkeeper.deploys.schemas import Analysis, HealthPolicy
from watchkeeper.monitoring.metrics import store


def test_a_metric_query_fails_the_sample_while_it_holds(session, session_factory, frozen_clock):
    make_service(session, name="shop", team="payments")
    now = to_ms(clock.utcnow())
    store.write(session, [("shop_errors", {"version": "2.0.0"}, 9.0, now - 60_000), ("shop_errors", {"version": "1.0.0"}, 1.0, now - 60_000)])
    session.commit()
    analysis = Analysis.model_validate({"probes": False, "queries": [{"expr": 'max(shop_errors{version="2.0.0"}[5m]) > 5'}]})
    bad = health.sample(session_factory, service="shop", policy=HealthPolicy(), analysis=analysis)
    assert not bad.ok and bad.problems == ('query max(shop_errors{version="2.0.0"}[5m]) > 5 holds (9)',)
    calm = Analysis.model_validate({"probes": False, "queries": [{"expr": 'max(shop_errors{version="1.0.0"}[5m]) > 5'}]})
    good = health.sample(session_factory, service="shop", policy=HealthPolicy(), analysis=calm)
    assert good.ok and good.checked == 1


@pytest.mark.parametrize("query, message", [
    ({"expr": "max(shop_errors[5m] > 5"}, ""),
    ({"expr": "up == 0", "source": "prometheus"}, "needs prometheus_url"),
    ({"expr": "up == 0", "source": "prometheus", "prometheus_url": "file:///x"}, "http(s) URL"),
    ({"expr": "max(x[5m]) > 1", "prometheus_url": "http://127.0.0.1:9090"}, "prometheus_url is for source: prometheus"),
])
def test_bad_queries_are_refused(query, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Analysis.model_validate({"queries": [query]})
