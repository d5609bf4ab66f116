"""One error shape for every route, and a failed commit never turns into a 200."""

from __future__ import annotations

from sqlalchemy import event

from watchkeeper import domains


def _assert_shape(body):
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"] and "\n" not in body["error"]["message"]


def test_every_router_returns_the_canonical_error_shape(client, personas):
    """Each router gets bad input (unknown ids, unknown body fields, out-of-range queries) until it
    errors; every error it gives must have the one shape."""
    import re

    def takes_input(router) -> bool:
        """Whether any route of the router reads a path, query or body parameter (a router of one
        public GET without parameters, like /api/v1/status, has nothing to get wrong)."""
        return any(route.dependant.path_params or route.dependant.query_params or route.dependant.body_params
                   for route in router.routes if hasattr(route, "dependant"))

    routers = domains.resolved("api")
    silent = []
    for router in routers:
        errors_seen = 0
        for route in router.routes:
            for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
                path = "/api/v1" + re.sub(r"\{[^}]+\}", "999999", route.path)
                body = None if method in ("GET", "DELETE") else {"__unknown__": 1}
                response = client.request(method, path, params={"limit": -5}, json=body, headers=personas["root"].headers)
                if response.status_code >= 400:
                    _assert_shape(response.json())
                    errors_seen += 1
        if errors_seen == 0 and takes_input(router):
            silent.append([route.path for route in router.routes])
    assert silent == [], f"routers that took bad input without an error: {silent}"


def test_validation_errors_name_the_field(client, personas):
    response = client.post("/api/v1/services", json={"name": "Bad Name!", "team": "payments"}, headers=personas["root"].headers)
    assert response.status_code == 422
    _assert_shape(response.json())
    assert response.json()["error"]["field"] == "name"


def test_unknown_fields_are_refused(client, personas):
    response = client.post("/api/v1/teams", json={"name": "ops", "colour": "red"}, headers=personas["root"].headers)
    assert response.status_code == 422
    assert "unknown field" in response.json()["error"]["message"]


def test_malformed_json_is_a_clear_422(client, personas):
    response = client.post("/api/v1/teams", content=b"{not json", headers={**personas["root"].headers, "content-type": "application/json"})
    assert response.status_code == 422
    _assert_shape(response.json())


def test_unknown_route_has_the_shape_too(client, personas):
    response = client.get("/api/v1/nothing-here", headers=personas["root"].headers)
    assert response.status_code == 404
    _assert_shape(response.json())


def test_failed_commit_becomes_an_error_response_not_a_200(app, client, personas, session_factory, connection):
    from fastapi.testclient import TestClient

    calls = {"n": 0}

    def explode(session):
        calls["n"] += 1
        raise RuntimeError("disk full")

    # Every session the app opens shares the test connection; make its commit fail.
    event.listen(session_factory.class_, "before_commit", explode)
    try:
        with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as quiet:
            response = quiet.post("/api/v1/teams", json={"name": "ops"}, headers=personas["root"].headers)
    finally:
        event.remove(session_factory.class_, "before_commit", explode)
    assert calls["n"] >= 1
    assert response.status_code == 500
    _assert_shape(response.json())
    assert client.get("/api/v1/teams/ops", headers=personas["root"].headers).status_code == 404


def test_oversized_bodies_are_refused(client, personas):
    response = client.post("/api/v1/teams", content=b"x" * (6 * 1024 * 1024),
                           headers={**personas["root"].headers, "content-type": "application/json"})
    assert response.status_code == 413
    _assert_shape(response.json())
