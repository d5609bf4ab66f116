"""The OpenAPI document (issue 9 item 11): public on purpose (it describes routes, holds no
data), and it says how to authenticate: `securitySchemes`, a `security` requirement on every
route that refuses anonymous callers and none on the public ones, and body schemas for the
ingest routes that read their body themselves."""

from __future__ import annotations

from tests.api.test_auth_required import PUBLIC_EXACT, PUBLIC_PREFIXES


def test_the_document_is_public_and_names_both_ways_to_authenticate(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    schemes = r.json()["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == "wk_session"


def test_every_operation_that_needs_a_caller_says_so(client):
    doc = client.get("/openapi.json").json()
    missing, extra = [], []
    for path, ops in doc["paths"].items():
        public = path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)
        for method, op in ops.items():
            if public and op.get("security"):
                extra.append(f"{method.upper()} {path}")
            if not public and not op.get("security"):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"operations without a security requirement: {missing}"
    assert not extra, f"public operations that claim to need a caller: {extra}"
    assert len(doc["paths"]) > 50


def test_ingest_routes_describe_their_bodies(client, personas):
    doc = client.get("/openapi.json").json()
    for path, field in [("/api/v1/alerts", None), ("/api/v1/integrations/alertmanager", "alerts"),
                        ("/api/v1/integrations/grafana", "alerts")]:
        op = doc["paths"][path]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert "$ref" not in str(schema), path  # self-contained
        if field:
            assert field in schema["properties"] and field in schema.get("required", []), path
    generic = doc["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {part.get("type") for part in generic["anyOf"]} == {"object", "array"}
