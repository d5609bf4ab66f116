"""The metrics store: pushes (JSON and Prometheus text), queries, roll-ups, retention."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tests.factories.auth import make_persona
from watchkeeper.clock import to_ms
from watchkeeper.monitoring.metrics import language, store
from watchkeeper.monitoring.metrics.schemas import MetricSample
from watchkeeper.monitoring.models import Rollup, RollupMark, Sample, Series


def test_push_json_and_text_then_query_through_the_api(session, client, personas, frozen_clock):
    ingest = make_persona(session, "pusher", ["operator"], scopes=["ingest"])
    session.commit()
    r = client.post("/api/v1/metrics", headers=ingest.headers, json={"samples": [
        {"name": "orders_total", "labels": {"region": "eu"}, "value": 40},
        {"name": "orders_total", "labels": {"region": "us"}, "value": 7},
    ]})
    assert r.status_code == 202 and r.json() == {"accepted": 2, "series": 2}
    text = 'orders_total{region="eu"} 2\n# HELP signups_total x\n# TYPE signups_total counter\nsignups_total 5\n'
    r = client.post("/api/v1/metrics", headers={**ingest.headers, "content-type": "text/plain"}, content=text)
    assert r.status_code == 202 and r.json()["accepted"] == 2
    q = client.get("/api/v1/metrics/query", headers=personas["bob"].headers,
                   params={"expr": "sum(orders_total[5m]) by (region) > 10"})
    assert q.status_code == 200
    assert q.json()["groups"] == [{"labels": {"region": "eu"}, "value": 42.0, "holds": True},
                                  {"labels": {"region": "us"}, "value": 7.0, "holds": False}]
    s = client.get("/api/v1/metrics/series", headers=personas["bob"].headers, params={"selector": 'orders_total{region="eu"}'})
    assert [p[1] for p in s.json()[0]["points"]] == [40.0, 2.0]


def test_push_needs_the_permission_and_good_input(session, client, personas):
    r = client.post("/api/v1/metrics", headers=personas["carol"].headers, json={"samples": [{"name": "x", "value": 1}]})
    assert r.status_code == 403
    bad = client.post("/api/v1/metrics", headers=personas["root"].headers, json={"samples": [{"name": "9bad", "value": 1}]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "samples.0.name"
    junk = client.post("/api/v1/metrics", headers={**personas["root"].headers, "content-type": "text/plain"}, content="{{{ nope")
    assert junk.status_code == 422 and "not Prometheus text exposition" in junk.json()["error"]["message"]
    empty = client.post("/api/v1/metrics", headers=personas["root"].headers, json={"samples": []})
    assert empty.status_code == 422 and empty.json()["error"]["message"] == "no samples given; send at least one"
    q = client.get("/api/v1/metrics/query", headers=personas["root"].headers, params={"expr": "avg(x[5m]) >"})
    assert q.status_code == 422 and q.json()["error"]["message"] == "expr: the rule ends early; expected a number to compare with"


def _push_minutes(session, system_actor, start: dt.datetime, minutes: int, value=lambda i: float(i)) -> None:
    store.push(session, samples=[
        MetricSample(name="latency_seconds", labels={"route": "/pay"}, value=value(i), timestamp=start + dt.timedelta(minutes=i, seconds=10))
        for i in range(minutes)
    ], actor=system_actor)


def test_rollups_match_raw_data_and_serve_long_windows(session, system_actor, frozen_clock):
    start = frozen_clock - dt.timedelta(hours=3)
    _push_minutes(session, system_actor, start, 180)
    done = store.rollup(session, now=frozen_clock)
    assert done[60] == to_ms(frozen_clock) - 60_000 and done[3600] == to_ms(frozen_clock) - 3_600_000
    minute_rows = session.execute(select(func.count()).select_from(Rollup).where(Rollup.resolution_s == 60)).scalar()
    assert minute_rows == 179  # the last complete minute waits one more minute for late samples
    hour = session.execute(select(Rollup).where(Rollup.resolution_s == 3600).order_by(Rollup.bucket_ms)).scalars().all()
    assert [(h.count, h.sum, h.min, h.max) for h in hour] == [(60, float(sum(range(60))), 0.0, 59.0),
                                                              (60, float(sum(range(60, 120))), 60.0, 119.0)]
    q = language.Query("avg", language.Selector("latency_seconds"), 3 * 3600)
    exact = store.evaluate(session, q)
    via_rollups = store.evaluate(session, q, retention=store.Retention(raw=dt.timedelta(minutes=30)))
    assert exact == via_rollups == {(): sum(range(180)) / 180}
    count = language.Query("count", language.Selector("latency_seconds"), 3 * 3600)
    assert store.evaluate(session, count, retention=store.Retention(raw=dt.timedelta(minutes=30))) == {(): 180.0}
    assert store.rollup(session, now=frozen_clock) == {}  # idempotent


def test_retention_never_drops_what_is_not_rolled_up(session, system_actor, frozen_clock):
    start = frozen_clock - dt.timedelta(hours=3)
    _push_minutes(session, system_actor, start, 180)
    short = store.Retention(raw=dt.timedelta(hours=1))
    assert store.prune(session, retention=short, now=frozen_clock)["samples"] == 0  # nothing rolled up yet
    store.rollup(session, now=frozen_clock)
    pruned = store.prune(session, retention=short, now=frozen_clock)
    assert pruned["samples"] == 120
    assert session.execute(select(func.count()).select_from(Sample)).scalar() == 60
    q = language.Query("sum", language.Selector("latency_seconds"), 3 * 3600)
    assert store.evaluate(session, q, retention=short) == {(): float(sum(range(180)))}


def test_rate_needs_raw_samples_in_long_windows(session, system_actor, frozen_clock):
    _push_minutes(session, system_actor, frozen_clock - dt.timedelta(hours=2), 120)
    store.rollup(session, now=frozen_clock)
    q = language.parse("rate(latency_seconds[2h]) > 1").query
    with pytest.raises(language.RuleSyntaxError, match="rate\\(\\) needs raw samples"):
        store.evaluate(session, q, retention=store.Retention(raw=dt.timedelta(minutes=30)))
    assert store.evaluate(session, q)[()] == pytest.approx(119 / 7200)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=50))
def test_bucket_aggregation_equals_raw_aggregation(values):
    series = [({"a": "1"}, [(i, v) for i, v in enumerate(values)])]
    buckets = [({"a": "1"}, [(1, v, v, v) for v in values])]
    for agg in ("avg", "min", "max", "sum", "count"):
        q = language.Query(agg, language.Selector("x"), 60)
        assert language.aggregate_buckets(q, buckets)[()] == pytest.approx(language.aggregate_raw(q, series)[()], rel=1e-9, abs=1e-6)


def test_counter_increase_survives_resets():
    q = language.Query("increase", language.Selector("c"), 60)
    points = [(0, 10.0), (1, 15.0), (2, 3.0), (3, 8.0)]  # reset between 15 and 3
    assert language.aggregate_raw(q, [({}, points)]) == {(): 5.0 + 3.0 + 5.0}


_BATCH = st.tuples(
    st.booleans(),  # roll up before this batch is written
    st.lists(st.tuples(st.integers(0, 3 * 24 * 60 - 1), st.integers(0, 59), st.integers(-5, 5)), min_size=1, max_size=30),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(_BATCH, min_size=1, max_size=6))
def test_rollups_equal_the_raw_samples_whenever_samples_arrive(session, frozen_clock, batches):
    """Samples written in any order around roll-up runs — back-filled days before the mark,
    fresh minutes after it — end up in exactly one roll-up bucket each: every bucket behind the
    marks has the count, sum, min and max of its raw samples, and a long window read through the
    roll-ups equals the raw sum."""
    for model in (Rollup, RollupMark, Sample, Series):
        session.execute(delete(model))
    end = to_ms(frozen_clock)
    for roll_first, samples in batches:
        if roll_first:
            store.rollup(session, max_span=dt.timedelta(days=4))
        store.write(session, [("kpi", {"k": "1"}, float(v), end - (minute + 1) * 60_000 + sec * 1000)
                              for minute, sec, v in samples])
    store.rollup(session, max_span=dt.timedelta(days=4))
    raw = session.execute(select(Sample.ts_ms, Sample.value)).all()
    marks = dict(session.execute(select(RollupMark.resolution_s, RollupMark.done_until_ms)).all())
    for resolution, mark in marks.items():
        res_ms = resolution * 1000
        want: dict[int, list[float]] = {}
        for ts, v in raw:
            if ts < mark:
                want.setdefault(ts // res_ms * res_ms, []).append(v)
        got = {b: (c, s, lo, hi) for b, c, s, lo, hi in session.execute(
            select(Rollup.bucket_ms, Rollup.count, Rollup.sum, Rollup.min, Rollup.max).where(Rollup.resolution_s == resolution))}
        assert got == {b: (len(vs), sum(vs), min(vs), max(vs)) for b, vs in want.items()}
    q = language.Query("sum", language.Selector("kpi"), 4 * 86400)
    via_rollups = store.evaluate(session, q, retention=store.Retention(raw=dt.timedelta(minutes=30)))
    assert via_rollups == {(): float(sum(v for _, v in raw))}
