"""Every route of the app refuses unauthenticated requests, except the few public ones.

The test enumerates the app's routes, so a route added later is covered automatically. A
public route must be listed here on purpose, with the reason it is public.
"""

from __future__ import annotations

import re

import pytest

from tests.api.routes import all_routes

PUBLIC_EXACT = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/metrics": "Prometheus scrape",
    "/login": "the login form itself",
    "/openapi.json": "the API description",
    "/docs": "API docs page (Swagger UI, assets from the package)",
    "/redoc": "API docs page (ReDoc, assets from the package)",
    "/status": "the public status page (incidents/statuspage.py decides what is public)",
    "/status/feed.atom": "the public status page's Atom feed",
    "/api/v1/status": "the public status page as JSON",
}
# Prefixes whose routes authenticate by a secret in the URL (checked by their own tests).
PUBLIC_PREFIXES = ("/static", "/api-docs-assets", "/ping/", "/ack/")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(app):
    for method, path, _ in all_routes(app):
        yield method, path


def test_every_non_public_route_refuses_anonymous_requests(client, app):
    checked = 0
    for method, path in _routes(app):
        if path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES):
            continue
        response = client.request(method, _concrete(path), follow_redirects=False, json={} if method != "GET" else None)
        if path.startswith("/api/"):
            assert response.status_code == 401, f"{method} {path} answered {response.status_code} without auth"
            assert response.json()["error"]["code"] == "auth.required"
        else:
            assert response.status_code in (303, 401, 403), f"{method} {path} answered {response.status_code} without auth"
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/login"])
def test_public_routes_answer_without_auth(client, path):
    assert client.get(path).status_code == 200


def test_a_bad_token_is_refused_with_a_clear_message(client):
    response = client.get("/api/v1/services", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert "wk_" in response.json()["error"]["message"]
