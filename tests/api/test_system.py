from __future__ import annotations

import json
import logging

import pytest

from watchkeeper import logs
from watchkeeper.config import Settings
from watchkeeper.queue import service as queue


def test_metrics_expose_http_queue_and_audit_gauges(client, personas, session):
    queue.enqueue(session, kind="worker.echo")
    session.commit()
    client.get("/api/v1/services", headers=personas["root"].headers)
    text = client.get("/metrics").text
    assert 'watchkeeper_http_requests_total{method="GET",route="/api/v1/services",status="200"}' in text
    assert "watchkeeper_http_request_duration_seconds_bucket" in text
    assert "watchkeeper_job_queue_depth 1.0" in text
    chain = [line for line in text.splitlines() if line.startswith("watchkeeper_audit_chain_length ")][0]
    assert float(chain.split()[1]) >= 10  # the personas' users and tokens were audited
    assert "watchkeeper_database_up 1.0" in text


def test_readyz_reports_database_and_migrations(client):
    body = client.get("/readyz").json()
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_job_state_is_visible_through_the_api(client, personas, session):
    job_id = queue.enqueue(session, kind="worker.echo", payload={"message": "hi"})
    session.commit()
    job = client.get(f"/api/v1/jobs/{job_id}", headers=personas["root"].headers).json()
    assert job["status"] == "queued" and job["payload"] == {"message": "hi"}
    stats = client.get("/api/v1/jobs/stats", headers=personas["root"].headers).json()
    assert stats["depth"] >= 1
    assert client.get(f"/api/v1/jobs/{job_id}", headers=personas["carol"].headers).status_code == 403


def test_openapi_lists_every_api_route(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/services" in spec["paths"] and "/api/v1/services/{name}/promote" in spec["paths"]


def test_json_logs_carry_fields_and_redact_secrets(capsys):
    logs.configure(json_output=True, level="INFO")
    logging.getLogger("wk.test").info("delivery failed", extra={"channel": "email", "url": "https://user:pw@hooks.example.com/x"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "delivery failed" and record["channel"] == "email"
    assert "pw" not in record["url"] and "[redacted]" in record["url"]
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize("value", ["changeme", "short"])
def test_placeholder_secret_keys_are_refused(value):
    with pytest.raises(ValueError, match="secret_key"):
        Settings(secret_key=value)


def test_secret_key_can_come_from_a_file(tmp_path, monkeypatch):
    path = tmp_path / "key"
    path.write_text("a-very-long-secret-from-a-file\n")
    monkeypatch.setenv("WATCHKEEPER_SECRET_KEY_FILE", str(path))
    monkeypatch.delenv("WATCHKEEPER_SECRET_KEY", raising=False)
    assert Settings.load().secret_key.get_secret_value() == "a-very-long-secret-from-a-file"


def test_readyz_is_503_while_migrations_are_pending(fresh_url, tmp_path):
    from fastapi.testclient import TestClient

    from watchkeeper.api.app import create_app
    from watchkeeper.app import Container
    from watchkeeper.db.engine import make_engine, make_session_factory

    engine = make_engine(fresh_url)
    try:
        container = Container(settings=Settings(database_url=fresh_url, data_dir=tmp_path), engine=engine,
                              session_factory=make_session_factory(engine))
        with TestClient(create_app(container)) as c:
            response = c.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["migrations"].startswith("pending")
    finally:
        engine.dispose()
