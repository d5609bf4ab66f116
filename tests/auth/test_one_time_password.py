"""A one-time password (the first admin's, or a user created without one) is good for one
thing only: choosing a real one (issue 9 item 11). Until then every page leads to
/account/password and every API call but /me is a 403 naming the way out."""

from __future__ import annotations

import re

from sqlalchemy import select

from watchkeeper.audit.models import AuditEvent
from watchkeeper.auth import service as auth
from watchkeeper.auth.models import User
from watchkeeper.auth.schemas import Grant, TokenCreate, UserCreate

SYSTEM = auth.Actor.system("test", "system")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sign_in(client, username: str, password: str):
    r = client.post("/login", data={"username": username, "password": password, "next": "/services"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r


def test_the_first_admin_must_choose_a_password_before_anything_else(session, client):
    one_time = auth.ensure_first_admin(session)
    session.commit()
    _sign_in(client, "admin", one_time)
    for page in ("/services", "/audit", "/monitors"):
        r = client.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/account/password", page
    r = client.get("/api/v1/services")
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.password_change_required"
    assert "/account/password" in r.json()["error"]["message"]
    assert client.get("/api/v1/me").json()["name"] == "admin"

    form = client.get("/account/password")
    assert form.status_code == 200 and "one-time password" in form.text
    csrf = _csrf(form.text)
    good = "a-real-password-of-mine"
    for data, problem in [
        ({"current_password": "guess-guess-guess", "new_password": good, "confirm_password": good}, "current password is wrong"),
        ({"current_password": one_time, "new_password": good, "confirm_password": good + "x"}, "two new passwords differ"),
        ({"current_password": one_time, "new_password": "short", "confirm_password": "short"}, "shorter than 12"),
        ({"current_password": one_time, "new_password": one_time, "confirm_password": one_time}, "is the current one"),
    ]:
        r = client.post("/account/password", data={**data, "csrf_token": csrf})
        assert r.status_code == 422 and problem in r.text, problem
    r = client.post("/account/password", data={"current_password": one_time, "new_password": good, "confirm_password": good},
                    follow_redirects=False)
    assert r.status_code == 403  # no CSRF token: refused like every other form
    r = client.post("/account/password", follow_redirects=False,
                    data={"current_password": one_time, "new_password": good, "confirm_password": good, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # this session ended with the change; the new password works and the pages open
    assert client.get("/services", follow_redirects=False).headers["location"].startswith("/login")
    assert client.post("/login", data={"username": "admin", "password": one_time}).status_code == 401
    _sign_in(client, "admin", good)
    assert client.get("/services").status_code == 200
    assert client.get("/api/v1/services").status_code == 200
    session.expire_all()
    assert session.execute(select(User.must_change_password).where(User.username == "admin")).scalar_one() is False
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.target == "user:admin")).scalars().all()
    assert "user.set_password" in actions


def test_a_user_made_without_a_password_is_held_the_same_way_even_through_a_token(session, client, personas):
    root = personas["root"].headers
    made = client.post("/api/v1/users", headers=root, json={"username": "dana", "grants": [{"role": "admin"}]}).json()
    one_time = made["password"]
    token = auth.create_token(session, username="dana", data=TokenCreate(name="t", scopes=["write"]), actor=SYSTEM)
    session.commit()
    bearer = {"Authorization": f"Bearer {token.token}"}
    r = client.get("/api/v1/users", headers=bearer)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.password_change_required"
    r = client.post("/api/v1/teams", headers=bearer, json={"name": "ops"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.password_change_required"
    # the service functions refuse too (not only the HTTP adapters)
    dana = auth.authenticate_token(session, raw=token.token)
    assert dana.password_change_required and not dana.can("service.read")
    # the API way out
    r = client.post("/api/v1/me/password", headers=bearer, json={"current_password": "nope", "new_password": "x" * 12})
    assert r.status_code == 422 and r.json()["error"]["code"] != "auth.password_change_required"
    r = client.post("/api/v1/me/password", headers=bearer,
                    json={"current_password": one_time, "new_password": "dana-chose-this-one"})
    assert r.status_code == 204
    assert client.get("/api/v1/users", headers=bearer).status_code == 200


def test_users_given_a_password_are_not_held(session, client, personas):
    auth.create_user(session, data=UserCreate(username="eve", password="eve-password-123", grants=[Grant.parse("viewer")]),
                     actor=SYSTEM)
    session.commit()
    _sign_in(client, "eve", "eve-password-123")
    assert client.get("/services").status_code == 200
    # a user may still change their own password whenever they like
    csrf = _csrf(client.get("/account/password").text)
    r = client.post("/account/password", follow_redirects=False, data={
        "current_password": "eve-password-123", "new_password": "eve-new-password-1", "confirm_password": "eve-new-password-1",
        "csrf_token": csrf})
    assert r.status_code == 303


# ---------------------------------------------------------------- login throttling (no lock-out)


def _try(session, username: str, password: str, client: str):
    """One login attempt through the service, as the /login form makes it; the outcome class."""
    from watchkeeper.errors import RateLimited, Unauthenticated

    try:
        auth.login(session, username=username, password=password, client=client, hours=1,
                   max_failures=5, window_seconds=900)
        outcome = "ok"
    except Unauthenticated:
        outcome = "wrong"
    except RateLimited as exc:
        outcome = f"wait {exc.retry_after}"
    session.commit()
    return outcome


def test_failing_on_someones_behalf_does_not_lock_them_out(session, personas, frozen_clock):
    from watchkeeper import clock
    import datetime as dt

    attacker, owner = "203.0.113.9", "198.51.100.7"
    assert [_try(session, "bob", "wrong-password!!", attacker) for _ in range(5)] == ["wrong"] * 5
    assert _try(session, "bob", "wrong-password!!", attacker) == "wait 15"
    assert _try(session, "bob", personas["bob"].password, owner) == "ok"  # bob, elsewhere, signs in
    # the attacker's waits double with each further failure (failures older than the window
    # are forgotten, so the wait is bounded by it)
    waits = []
    for _ in range(4):
        wait = _try(session, "bob", "x" * 12, attacker)
        waits.append(wait)
        clock.advance(dt.timedelta(seconds=int(wait.split()[1]) - 1))
        assert _try(session, "bob", "x" * 12, attacker) == "wait 1"  # not a second early
        clock.advance(dt.timedelta(seconds=1))
        assert _try(session, "bob", "wrong-password!!", attacker) == "wrong"
    assert waits == ["wait 15", "wait 30", "wait 60", "wait 120"]
    assert _try(session, "bob", personas["bob"].password, owner) == "ok"


def test_password_spraying_from_one_address_is_throttled(session, personas, frozen_clock):
    sprayer = "203.0.113.50"
    names = [f"user{i}" for i in range(20)]
    assert {_try(session, name, "Winter2026!!", sprayer) for name in names} == {"wrong"}
    assert _try(session, "alice", personas["alice"].password, sprayer) == "wait 15"
    assert _try(session, "alice", personas["alice"].password, "198.51.100.8") == "ok"
