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
