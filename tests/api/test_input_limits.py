"""Issue 9, items 8 and 10: requests that used to end in a 500 get a one-line 4xx.

Deep JSON on every ingest route (was a RecursionError), NUL characters and NaN/Infinity
anywhere (PostgreSQL refused them: a 500), durations of 99999999d (OverflowError), duplicate
or malformed grants (IntegrityError, or silently accepted), and an oversized chunked body
(was a 400)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories.auth import make_persona
from tests.factories.catalog import make_service
from watchkeeper.validation import MAX_JSON_DEPTH, json_problem

INGEST_ROUTES = ["/api/v1/alerts", "/api/v1/integrations/alertmanager", "/api/v1/integrations/grafana", "/api/v1/metrics"]


@pytest.fixture
def ingest(session):
    bot = make_persona(session, "ingest-bot", ["operator"], scopes=["ingest"])
    session.commit()
    return bot.headers


def _one_line_422(r, *words):
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "\n" not in message and all(w in message for w in words), message
    return message


@pytest.mark.parametrize("path", INGEST_ROUTES)
@pytest.mark.parametrize("ctype", ["application/json", None])
def test_json_nested_1000_deep_is_refused_on_every_ingest_route(client, ingest, path, ctype):
    for body in ("[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000):
        headers = {**ingest, **({"content-type": ctype} if ctype else {})}
        r = client.post(path, content=body.encode(), headers=headers)
        _one_line_422(r, "nests deeper")


def test_deep_json_is_refused_on_ordinary_api_routes_too(client, personas):
    r = client.post("/api/v1/teams", content=("[" * 5000 + "]" * 5000).encode(), headers={**personas["root"].headers,
                                                                                      "content-type": "application/json"})
    _one_line_422(r, "nests deeper")


@pytest.mark.parametrize("body", [
    '{"name": "ops\\u0000"}',
    '{"name": "ops", "description": "a\\\\\\u0000"}',
    b'{"name": "ops\x00"}',
])
def test_nul_in_a_json_string_is_refused(client, personas, body):
    raw = body.encode() if isinstance(body, str) else body
    r = client.post("/api/v1/teams", content=raw, headers={**personas["root"].headers, "content-type": "application/json"})
    _one_line_422(r, "NUL")


def test_an_escaped_backslash_before_u0000_is_just_text(client, personas):
    r = client.post("/api/v1/teams", content=b'{"name": "ops", "description": "path C:\\\\u0000"}',
                    headers={**personas["root"].headers, "content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "path C:\\u0000"


def test_nul_in_an_alert_label_query_path_or_form_is_refused(client, personas, ingest):
    r = client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "X\u0000"}}]}, headers=ingest)
    _one_line_422(r, "NUL")
    _one_line_422(client.get("/api/v1/services", params={"q": "a\x00b"}, headers=personas["root"].headers), "NUL")
    _one_line_422(client.get("/api/v1/services/a%00b", headers=personas["root"].headers), "NUL")
    r = client.post("/login", content=b"username=root%00&password=x", headers={"content-type": "application/x-www-form-urlencoded"})
    _one_line_422(r, "NUL")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" * 400 + ".5"])
def test_non_finite_numbers_are_refused(client, ingest, value):
    body = '{"samples": [{"name": "orders_total", "value": %s}]}' % value
    r = client.post("/api/v1/metrics", content=body.encode(), headers={**ingest, "content-type": "application/json"})
    _one_line_422(r)


def test_nan_as_text_inside_a_string_is_fine(client, ingest):
    r = client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "NaN", "service": "s"},
                                                        "annotations": {"summary": "value is Infinity [[[{{{"}}]}, headers=ingest)
    assert r.status_code == 200 and r.json()["created"] == 1
    r = client.post("/api/v1/metrics", content=b'{"samples": [{"name": "orders_total", "value": 1e300}]}',
                    headers={**ingest, "content-type": "application/json"})
    assert r.status_code == 202, r.text


HUGE = "99999999d"


def test_huge_durations_are_a_one_line_422_on_silences_monitors_drills_and_maintenance(client, session, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    root = personas["root"].headers
    cases = [
        ("/api/v1/silences", {"matchers": ['service="checkout"'], "duration": HUGE, "comment": "too long"}),
        ("/api/v1/monitors", {"name": "m", "service": "checkout", "interval": HUGE, "http": {"url": "https://c.test/"}}),
        ("/api/v1/monitors", {"name": "m", "service": "checkout", "timeout": HUGE, "http": {"url": "https://c.test/"}}),
        ("/api/v1/drills", {"service": "checkout", "deadline": HUGE}),
        ("/api/v1/maintenance-windows", {"name": "w", "service": "checkout", "starts_at": "2026-03-02T09:00:00Z", "duration": HUGE}),
        ("/api/v1/silences", {"matchers": ['service="checkout"'], "duration": 1e300, "comment": "too long"}),
    ]
    for path, body in cases:
        message = _one_line_422(client.post(path, json=body, headers=root), "longest duration")
        assert "3650d" in message, (path, message)
    r = client.post("/api/v1/silences", json={"matchers": ['service="checkout"'], "duration": "3650d", "comment": "ten years"},
                    headers=root)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("grants,words", [
    ([{"role": "viewer"}, {"role": "viewer"}], ["listed twice"]),
    ([{"role": "operator", "scope_kind": "team", "scope_name": "payments"}] * 2, ["listed twice"]),
    ([{"role": "viewer", "scope": "everything"}], ["unknown field"]),
    ([{"role": "viewer", "scope_kind": "team", "scope_name": ""}], ["scope_name"]),
    ([{"role": "viewer", "scope_kind": "service"}], ["scope_name"]),
    ([{"role": "viewer", "scope_name": "payments"}], ["global"]),
    ([{"role": "viewer", "scope_kind": "team", "scope_name": "pay ments"}], ["scope_name"]),
])
def test_bad_grants_in_a_new_user_are_a_one_line_422(client, personas, grants, words):
    r = client.post("/api/v1/users", json={"username": "newbie", "password": "a-long-password-1", "grants": grants},
                    headers=personas["root"].headers)
    _one_line_422(r, *words)
    assert "newbie" not in [u["username"] for u in client.get("/api/v1/users", headers=personas["root"].headers).json()]


def test_a_chunked_body_over_the_limit_is_a_413(client, personas):
    def chunks():
        for _ in range(7):
            yield b"[" + b" " * (1024 * 1024) + b"]"

    r = client.post("/api/v1/teams", content=chunks(), headers={**personas["root"].headers, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


_text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_any_ordinary_json_document_passes_the_guard(doc):
    assert json_problem(json.dumps(doc).encode()) is None
    assert json_problem(json.dumps(doc, ensure_ascii=False).encode()) is None


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=5000), st.sampled_from(["[]", "{}"]))
def test_any_document_deeper_than_the_limit_is_refused(depth, pair):
    opener, closer = pair
    body = (opener if opener == "[" else '{"k":') * depth + ("1" if opener == "{" else "") + closer * depth
    assert "nests deeper" in json_problem(body.encode())
