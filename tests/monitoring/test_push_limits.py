"""Issue 9, item 11: metric push has per-series and per-request cardinality limits (2,000
labels and 20,000 series were accepted in one request). JSON and text exposition alike."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories.auth import make_persona
from watchkeeper.monitoring.metrics import store
from watchkeeper.monitoring.models import Series


def _pusher(session):
    person = make_persona(session, "pusher", ["operator"], scopes=["ingest"])
    session.commit()
    return person.headers


def _series(session) -> int:
    return session.execute(select(func.count(Series.id))).scalar_one()


def test_too_many_labels_on_one_series_is_a_one_line_422(client, session):
    h = _pusher(session)
    labels = {f"l{i}": "x" for i in range(store.MAX_LABELS + 1)}
    r = client.post("/api/v1/metrics", headers=h, json={"samples": [{"name": "wide", "labels": labels, "value": 1}]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "samples[0].labels"
    assert f"at most {store.MAX_LABELS}" in r.json()["error"]["message"]
    text = "wide{" + ",".join(f'l{i}="x"' for i in range(2000)) + "} 1\n"
    r = client.post("/api/v1/metrics", headers={**h, "content-type": "text/plain"}, content=text)
    assert r.status_code == 422
    assert _series(session) == 0


def test_a_huge_label_value_is_refused(client, session):
    h = _pusher(session)
    r = client.post("/api/v1/metrics", headers=h,
                    json={"samples": [{"name": "x", "labels": {"id": "a" * (store.MAX_LABEL_VALUE + 1)}, "value": 1}]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "samples[0].labels.id"


def test_too_many_series_in_one_push_is_refused_and_nothing_is_stored(client, session):
    h = _pusher(session)
    many = [{"name": "req", "labels": {"id": str(i)}, "value": 1} for i in range(store.MAX_SERIES_PER_PUSH + 1)]
    r = client.post("/api/v1/metrics", headers=h, json={"samples": many})
    assert r.status_code == 422 and "distinct series" in r.json()["error"]["message"]
    assert _series(session) == 0
    # Many samples of few series are fine.
    same = [{"name": "req", "labels": {"id": str(i % 10)}, "value": i} for i in range(store.MAX_SERIES_PER_PUSH + 1)]
    r = client.post("/api/v1/metrics", headers=h, json={"samples": same})
    assert r.status_code == 202 and r.json()["series"] == 10


# ---------------------------------------------------------------- the store-wide series cap


def _capped_client(container, limit: int):
    import dataclasses

    from fastapi.testclient import TestClient

    from watchkeeper.api.app import create_app

    capped = dataclasses.replace(container, settings=container.settings.model_copy(update={"metrics_max_series": limit}))
    return TestClient(create_app(capped), base_url="http://127.0.0.1")


def _samples(session) -> int:
    from watchkeeper.monitoring.models import Sample

    return session.execute(select(func.count(Sample.series_id))).scalar_one()


def test_the_store_holds_at_most_the_configured_number_of_series(container, session):
    h = _pusher(session)
    with _capped_client(container, 10) as client:
        many = [{"name": "kpi", "labels": {"shop": f"s{i}"}, "value": i} for i in range(10)]
        assert client.post("/api/v1/metrics", headers=h, json={"samples": many}).status_code == 202
        before = _samples(session)
        # one known series and one new one: all or nothing
        r = client.post("/api/v1/metrics", headers=h, json={"samples": [many[0], {"name": "kpi", "labels": {"shop": "s10"}, "value": 1}]})
        assert r.status_code == 422 and r.json()["error"]["field"] == "samples"
        assert r.json()["error"]["message"].startswith("the metrics store holds 10 series and its limit is 10")
        assert "\n" not in r.json()["error"]["message"]
        assert _series(session) == 10 and _samples(session) == before
        # series the store holds keep taking samples
        assert client.post("/api/v1/metrics", headers=h, json={"samples": many}).status_code == 202
        assert _samples(session) == before + 10


def test_scraped_series_past_the_cap_are_dropped_and_the_rest_recorded(session, caplog):
    import logging

    from watchkeeper import clock
    from watchkeeper.auth.service import Actor
    from watchkeeper.monitoring.models import Check, Location, Monitor
    from watchkeeper.monitoring.probes import results
    from watchkeeper.monitoring.probes import service as monitoring
    from watchkeeper.monitoring.probes.kinds import ProbeResult
    from watchkeeper.monitoring.probes.schemas import MonitorCreate

    monitoring.create_monitor(session, data=MonitorCreate(name="exporter", scrape={"url": "http://127.0.0.1:9/metrics"}),
                              actor=Actor.system("test", "system"))
    session.flush()
    m = session.execute(select(Monitor).where(Monitor.name == "exporter")).scalar_one()
    loc = session.execute(select(Location).where(Location.monitor_id == m.id)).scalars().first()
    store.write(session, [("up", {"job": "exporter"}, 1.0, 1_000)])
    held = _series(session)

    def result(slot_ms: int, pods: int):
        samples = [("up", {"job": "exporter"}, 1.0)] + [("pod_mem", {"pod": f"p{i}"}, float(i)) for i in range(pods)]
        return results.ResultIn(location_id=loc.id, monitor_id=m.id, monitor="exporter", location=loc.location,
                                slot_ms=slot_ms, checked_at=clock.utcnow(), result=ProbeResult(ok=True, latency_ms=3.0, samples=samples))

    # room for the two probe series and nothing else: the scrape's new series are dropped
    with caplog.at_level(logging.WARNING):
        stats = results.record_results(session, [result(60_000, 50)], worker="t", max_series=held + 2)
    assert stats.recorded == 1
    assert session.execute(select(func.count(Check.id)).where(Check.monitor_id == m.id)).scalar_one() == 1
    names = set(session.execute(select(Series.name)).scalars())
    assert {"up", "probe_success", "probe_duration_seconds"} <= names and "pod_mem" not in names
    assert any(r.getMessage() == "scraped series over the store's series limit dropped" and r.dropped == 50
               for r in caplog.records)
    # under the cap everything is kept
    results.record_results(session, [result(120_000, 5)], worker="t", max_series=held + 100)
    assert session.execute(select(func.count(Series.id)).where(Series.name == "pod_mem")).scalar_one() == 5
