"""A token never hands out more than it holds (issue 9, item 1).

Through the HTTP API: ingest, read, deploy and narrowly scoped tokens cannot create tokens
or revoke them; a token's new tokens lie within its scopes and expire no later than it; users
and grants created by a token cannot reach beyond its scopes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories.auth import make_persona
from watchkeeper.auth import _perms
from watchkeeper.auth import service as auth


def _token(session, username, grants, scopes):
    person = make_persona(session, username, grants, scopes=scopes)
    session.commit()
    return person


@pytest.mark.parametrize("scopes", [["ingest"], ["read"], ["deploy"], ["service.*"], ["alert.ingest"]])
def test_a_token_without_token_scope_cannot_create_any_token(client, session, personas, scopes):
    holder = _token(session, "holder", ["admin"], scopes)
    for wanted in (["write"], ["*"], list(scopes), ["read"]):
        r = client.post("/api/v1/tokens", json={"name": "escalate", "scopes": wanted}, headers=holder.headers)
        assert r.status_code == 403, (scopes, wanted, r.text)
        assert r.json()["error"]["code"] == "auth.token_scope"
    # Nothing was created: the holder owns only its own token.
    mine = auth.list_tokens(session, username="holder", actor=personas["root"].actor)
    assert [t.name for t in mine] == ["tests"]


def test_the_ingest_token_cannot_reach_admin_through_a_new_token(client, session, personas):
    """The exploit from the issue: ingest token → `*` token → admin user. Each step is refused."""
    bot = _token(session, "bot", ["admin"], ["ingest"])
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["*"], "expires_in_days": None}, headers=bot.headers)
    assert r.status_code == 403
    r = client.post("/api/v1/users", json={"username": "mallory", "grants": [{"role": "admin"}]}, headers=bot.headers)
    assert r.status_code == 403
    assert client.get("/api/v1/users", headers=personas["root"].headers).json()[-1]["username"] != "mallory"


def test_a_read_token_lists_but_cannot_revoke_its_owners_tokens(client, session, personas):
    reader = _token(session, "reader", ["admin"], ["read"])
    listed = client.get("/api/v1/tokens", headers=reader.headers)
    assert listed.status_code == 200 and [t["name"] for t in listed.json()] == ["tests"]
    own = listed.json()[0]["prefix"]
    r = client.delete(f"/api/v1/tokens/{own}", headers=reader.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.token_scope"
    other = personas["alice"].token.split("_")[1]
    r = client.delete(f"/api/v1/tokens/{other}", headers=reader.headers)
    assert r.status_code == 403
    assert client.get("/api/v1/me", headers=reader.headers).status_code == 200
    assert client.get("/api/v1/me", headers=personas["alice"].headers).status_code == 200


def test_an_ingest_token_cannot_even_list_tokens(client, session, personas):
    bot = _token(session, "bot", ["responder"], ["ingest"])
    assert client.get("/api/v1/tokens", headers=bot.headers).status_code == 403


def test_a_scoped_token_creates_only_narrower_tokens(client, session, personas):
    holder = _token(session, "scoped", ["admin"], ["token.*", "service.*", "team.read"])
    ok = client.post("/api/v1/tokens", json={"name": "svc", "scopes": ["service.read", "team.read"], "expires_in_days": 30},
                     headers=holder.headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["scopes"] == ["service.read", "team.read"]
    for wanted in (["write"], ["read"], ["*.read"], ["team.*"], ["service.*", "user.create"], ["deploy"]):
        r = client.post("/api/v1/tokens", json={"name": "wider", "scopes": wanted, "expires_in_days": 30}, headers=holder.headers)
        assert r.status_code == 403, (wanted, r.text)
        assert "beyond" in r.json()["error"]["message"]
    # The narrow token it made works, within its own scopes only.
    narrow = {"Authorization": f"Bearer {ok.json()['token']}"}
    assert client.get("/api/v1/services", headers=narrow).status_code == 200
    assert client.post("/api/v1/tokens", json={"name": "n", "scopes": ["service.read"]}, headers=narrow).status_code == 403


def test_a_team_scoped_operator_write_token_cannot_gain_admin(client, session, personas):
    alice = personas["alice"]  # operator@team:payments, write token
    r = client.post("/api/v1/tokens", json={"name": "mine", "scopes": ["read"], "expires_in_days": 7}, headers=alice.headers)
    assert r.status_code == 201
    minted = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.post("/api/v1/users", json={"username": "eve"}, headers=alice.headers).status_code == 403
    assert client.post("/api/v1/users", json={"username": "eve"}, headers=minted).status_code == 403
    assert client.post("/api/v1/teams", json={"name": "ops"}, headers=minted).status_code == 403


def test_an_admin_write_token_creates_tokens_that_do_not_outlive_it(client, session, personas):
    root = personas["root"]  # write token, expires in 90 days
    never = client.post("/api/v1/tokens", json={"name": "forever", "scopes": ["write"], "expires_in_days": None}, headers=root.headers)
    assert never.status_code == 422
    body = never.json()["error"]
    assert body["field"] == "expires_in_days" and "outlive" in body["message"] and "\n" not in body["message"]
    assert client.post("/api/v1/tokens", json={"name": "long", "scopes": ["write"], "expires_in_days": 365},
                       headers=root.headers).status_code == 422
    r = client.post("/api/v1/tokens", json={"name": "ok", "scopes": ["write"], "expires_in_days": 30}, headers=root.headers)
    assert r.status_code == 201
    # ... and may revoke its own tokens.
    assert client.delete(f"/api/v1/tokens/{r.json()['prefix']}", headers=root.headers).status_code == 200


def test_users_and_grants_made_by_a_token_stay_within_its_scopes(client, session, personas):
    clerk = _token(session, "clerk", ["admin"], ["user.*"])
    r = client.post("/api/v1/users", json={"username": "newbie", "password": "a-long-password-1", "grants": [{"role": "admin"}]},
                    headers=clerk.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.token_scope"
    r = client.post("/api/v1/users", json={"username": "newbie", "password": "a-long-password-1", "grants": [{"role": "viewer"}]},
                    headers=clerk.headers)
    assert r.status_code == 403  # viewer reads everything; the token reads nothing
    r = client.post("/api/v1/users", json={"username": "newbie", "password": "a-long-password-1"}, headers=clerk.headers)
    assert r.status_code == 201
    r = client.post("/api/v1/users/newbie/grants", json={"grant": "admin"}, headers=clerk.headers)
    assert r.status_code == 403
    r = client.post("/api/v1/users/newbie/grants", json={"grant": "operator@team:payments"}, headers=clerk.headers)
    assert r.status_code == 403
    users = {u["username"]: u for u in client.get("/api/v1/users", headers=personas["root"].headers).json()}
    assert users["newbie"]["grants"] == []
    # A token that holds what a viewer holds may hand it on.
    hr = _token(session, "hr", ["admin"], ["user.*", "read"])
    r = client.post("/api/v1/users/newbie/grants", json={"grant": "viewer"}, headers=hr.headers)
    assert r.status_code == 200 and r.json()["grants"] == ["viewer"]


def test_a_token_cannot_take_over_a_stronger_user_by_setting_a_password(session, personas):
    from watchkeeper.errors import PermissionDenied

    clerk = _token(session, "clerk", ["admin"], ["user.*"])
    with pytest.raises(PermissionDenied, match="beyond"):
        auth.set_password(session, username="root", password="taken-over-password", actor=clerk.actor)
    # Its owner's own password needs the scope too; a read token cannot change it.
    reader = _token(session, "reader", ["viewer"], ["read"])
    with pytest.raises(PermissionDenied):
        auth.set_password(session, username="reader", password="another-password-1", actor=reader.actor)


@pytest.mark.parametrize("scope", ["a[b]", "service.?", "", "Service.read", "alert.ingest.extra", "*x"])
def test_malformed_scopes_are_refused_in_one_line(client, personas, scope):
    r = client.post("/api/v1/tokens", json={"name": "bad", "scopes": [scope], "expires_in_days": 1}, headers=personas["root"].headers)
    assert r.status_code == 422
    assert "\n" not in r.json()["error"]["message"]


_part = st.sampled_from(["*", "alert", "service", "read", "ingest", "user", "token", "create"])
_pattern = st.one_of(
    st.sampled_from(list(_perms.TOKEN_SCOPES)),
    st.builds(lambda a, b: f"{a}.{b}", _part, _part),
    _part,
)
_permission = st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(["alert", "service", "user", "token", "x"]),
                        st.sampled_from(["read", "ingest", "create", "manage", "y"]))


@settings(max_examples=300, deadline=None)
@given(held=st.lists(_pattern, min_size=1, max_size=3), wanted=st.lists(_pattern, min_size=1, max_size=3),
       permission=_permission)
def test_covered_scopes_never_allow_more_than_the_holder(held, wanted, permission):
    if _perms.scopes_cover(held, _perms.scope_patterns(wanted)) and _perms.scopes_allow(wanted, permission):
        assert _perms.scopes_allow(held, permission)
