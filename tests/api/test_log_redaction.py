"""Credentials carried in a path (signed ack links, heartbeat ping tokens) never reach the
error log (issue 9 item 11): the log keeps the route template instead."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from watchkeeper.alerting import links

TOKEN = "c2VjcmV0LWFjay10b2tlbi12YWx1ZQ.sig-abcdef0123456789"


@pytest.fixture
def lenient(app):
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def _unhandled(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "unhandled error"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_error_on_an_ack_link_logs_the_template_not_the_token(lenient, caplog, monkeypatch, method):
    def broken(settings, token):  # a fault inside the route, after the token arrived
        raise RuntimeError("the link store is on fire")

    monkeypatch.setattr(links, "verify", broken)
    with caplog.at_level(logging.ERROR):
        r = lenient.request(method, f"/ack/{TOKEN}")
    assert r.status_code == 500
    records = _unhandled(caplog)
    assert records and records[-1].path == "/ack/{token}"
    assert all(TOKEN not in (r.getMessage() + str(r.__dict__)) for r in caplog.records)


def test_unmatched_credential_paths_are_cut_at_the_prefix(app):
    from starlette.requests import Request

    from watchkeeper.api.errors import loggable_path

    def request(path: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b"", "app": app})

    assert loggable_path(request(f"/ping/{TOKEN}/fail/extra")) == "/ping/…"
    assert loggable_path(request(f"/ack/{TOKEN}/x")) == "/ack/…"
    assert loggable_path(request("/api/v1/nowhere")) == "/api/v1/nowhere"
