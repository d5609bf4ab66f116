from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from watchkeeper import clock
from watchkeeper.auth import service as auth
from watchkeeper.auth._perms import scopes_allow
from watchkeeper.auth.models import ApiToken, User
from watchkeeper.auth.schemas import Grant, TokenCreate
from watchkeeper.errors import PermissionDenied, Unauthenticated


def test_first_admin_is_created_once_with_a_hashed_password(session):
    password = auth.ensure_first_admin(session)
    assert password and len(password) >= 16
    user = session.execute(select(User).where(User.username == "admin")).scalar_one()
    assert user.password_hash.startswith("$argon2") and password not in user.password_hash
    assert auth.ensure_first_admin(session) is None


def test_tokens_are_stored_hashed_and_resolve_to_their_owner(session, personas):
    raw = personas["alice"].token
    row = session.execute(select(ApiToken).where(ApiToken.prefix == raw.split("_")[1])).scalar_one()
    assert raw not in row.token_hash and len(row.token_hash) == 64
    assert auth.authenticate_token(session, raw=raw).name == "alice"


def test_expired_and_revoked_tokens_are_refused(frozen_clock, session, personas):
    created = auth.create_token(session, username="alice", data=TokenCreate(name="short", expires_in_days=1), actor=personas["alice"].actor)
    assert auth.authenticate_token(session, raw=created.token).name == "alice"
    clock.advance(dt.timedelta(days=2))
    with pytest.raises(Unauthenticated, match="expired"):
        auth.authenticate_token(session, raw=created.token)
    other = auth.create_token(session, username="alice", data=TokenCreate(name="x", expires_in_days=30), actor=personas["alice"].actor)
    auth.revoke_token(session, prefix=other.prefix, actor=personas["alice"].actor)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.authenticate_token(session, raw=other.token)


def test_last_used_is_recorded(frozen_clock, session, personas):
    raw = personas["bob"].token
    auth.authenticate_token(session, raw=raw)
    row = session.execute(select(ApiToken).where(ApiToken.prefix == raw.split("_")[1])).scalar_one()
    assert row.last_used_at == frozen_clock


def test_users_cannot_mint_tokens_for_others(session, personas):
    with pytest.raises(PermissionDenied):
        auth.create_token(session, username="alice", data=TokenCreate(name="x"), actor=personas["bob"].actor)


def test_scoped_grant_applies_only_to_its_team():
    actor = auth.Actor(name="a", id=1, source="api", grants=(Grant.parse("operator@team:payments"),))
    assert actor.can("service.update", team="payments")
    assert not actor.can("service.update", team="search")
    assert not actor.can("user.create")


def test_auditor_reads_and_exports_but_cannot_change_services():
    actor = auth.Actor(name="a", id=1, source="api", grants=(Grant.parse("auditor"),))
    assert actor.can("audit.export") and actor.can("service.read")
    assert not actor.can("service.update")


@pytest.mark.parametrize("text,expected", [
    ("viewer", ("viewer", "global", "")),
    ("operator@team:payments", ("operator", "team", "payments")),
    ("responder@service:checkout", ("responder", "service", "checkout")),
])
def test_grant_parsing(text, expected):
    g = Grant.parse(text)
    assert (g.role.value, g.scope_kind, g.scope_name) == expected
    assert str(g) == text


@pytest.mark.parametrize("bad", ["boss", "viewer@team", "viewer@galaxy:x"])
def test_bad_grants_say_what_is_allowed(bad):
    with pytest.raises(ValueError):
        Grant.parse(bad)


def test_token_scopes_narrow_the_owner_roles():
    assert scopes_allow(["read"], "service.read")
    assert not scopes_allow(["read"], "service.update")
    assert scopes_allow(["ingest"], "alert.ingest")
    assert scopes_allow(None, "anything.at_all")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_ui_login_sets_a_httponly_session_cookie_and_logout_needs_csrf(client, personas):
    r = client.post("/login", data={"username": "alice", "password": personas["alice"].password, "next": "/services"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/services"
    cookie = r.headers["set-cookie"]
    assert "wk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/services")
    assert page.status_code == 200 and "alice" in page.text
    assert client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/services", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_and_logins_are_rate_limited(client, personas, container):
    for _ in range(container.settings.login_max_failures):
        r = client.post("/login", data={"username": "bob", "password": "wrong-password!!"})
        assert r.status_code == 401 and "wrong username or password" in r.text
    r = client.post("/login", data={"username": "bob", "password": personas["bob"].password})
    assert r.status_code == 429 and "too many failed logins" in r.text


def test_cookie_authenticated_api_writes_need_the_csrf_header(client, personas):
    client.post("/login", data={"username": "root", "password": personas["root"].password})
    assert client.get("/api/v1/me").json()["name"] == "root"
    r = client.post("/api/v1/teams", json={"name": "ops"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.csrf"
    csrf = _csrf(client.get("/services").text)
    r = client.post("/api/v1/teams", json={"name": "ops"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_login_redirect_target_cannot_leave_the_site(client, personas):
    r = client.post("/login", data={"username": "alice", "password": personas["alice"].password, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.headers["location"] == "/services"
