"""Users, role bindings, API tokens, UI sessions and the permission check."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import math
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth import _perms
from watchkeeper.auth._perms import Role
from watchkeeper.auth.models import ApiToken, LoginAttempt, RoleBinding, User, WebSession
from watchkeeper.auth.schemas import Grant, TokenCreate, TokenCreated, TokenRead, UserCreate, UserRead
from watchkeeper.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RateLimited, Unauthenticated

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def _dummy() -> str:
    """A real hash to verify against when the user does not exist, so both paths cost the same.
    Computed on first use, not at import (argon2 is deliberately slow)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not-a-real-password-used-for-timing")
    return _dummy_hash
TOKEN_PREFIX = "wk_"


@dataclasses.dataclass(frozen=True)
class Actor:
    """Whoever is acting: a user (through the UI or a token) or the system itself."""

    name: str
    id: int | None
    source: str
    grants: tuple[Grant, ...] = ()
    token_scopes: tuple[str, ...] | None = None
    token_expires_at: dt.datetime | None = None
    superuser: bool = False
    # The user still holds a one-time password (the first admin, a user created without one):
    # they may do nothing but change it (`change_own_password`).
    password_change_required: bool = False

    @classmethod
    def system(cls, name: str, source: str) -> "Actor":
        """A local actor with full rights: the CLI on the server, `apply`, the worker."""
        return cls(name=name, id=None, source=source, superuser=True)

    def with_source(self, source: str) -> "Actor":
        return dataclasses.replace(self, source=source)

    def can(self, permission: str, *, team: str | None = None, service: str | None = None) -> bool:
        if self.superuser:
            return True
        if self.password_change_required:
            return False
        if not _perms.scopes_allow(list(self.token_scopes) if self.token_scopes is not None else None, permission):
            return False
        for grant in self.grants:
            if not _perms.role_grants(grant.role, permission):
                continue
            if grant.scope_kind == "global":
                return True
            if _perms.is_global_only(permission):
                continue
            if grant.scope_kind == "team" and team is not None and grant.scope_name == team:
                return True
            if grant.scope_kind == "service" and service is not None and grant.scope_name == service:
                return True
            if team is None and service is None and permission.endswith(".read"):
                # Listing: a scoped viewer may list; the list itself is filtered by `visible`.
                return True
        return False

    def sees(self, *, team: str | None, service: str | None) -> bool:
        """Whether the actor may see an object owned by `team` (lists filter with this)."""
        return self.can("catalog.read", team=team or "", service=service or "")


def require(actor: Actor, permission: str, *, team: str | None = None, service: str | None = None) -> None:
    """Raise PermissionDenied unless `actor` holds `permission` for the team or service."""
    if actor.can(permission, team=team, service=service):
        return
    require_password_changed(actor)
    where = f" on service '{service}'" if service else f" for team '{team}'" if team else ""
    raise PermissionDenied(
        f"{actor.name} may not {permission}{where}; ask an admin for a role that grants it",
        code="auth.forbidden",
    )


PASSWORD_CHANGE_REQUIRED = ("{name} must replace the one-time password first: open /account/password in the UI "
                            "(or POST /api/v1/me/password)")


def require_password_changed(actor: Actor) -> None:
    """Raise PermissionDenied (`auth.password_change_required`) while the actor's user still
    holds a one-time password."""
    if actor.password_change_required:
        raise PermissionDenied(PASSWORD_CHANGE_REQUIRED.format(name=actor.name), code="auth.password_change_required")


def _require_token_scope(actor: Actor, permission: str) -> None:
    """A token acts only within its scopes, even on its owner's own tokens (a user signed in to
    the UI is limited by roles alone)."""
    if actor.superuser or actor.token_scopes is None or _perms.scopes_allow(list(actor.token_scopes), permission):
        return
    raise PermissionDenied(
        f"{actor.name}'s token (scopes: {', '.join(actor.token_scopes)}) may not {permission}; "
        "use a token whose scopes allow it, or sign in",
        code="auth.token_scope",
    )


def _require_token_covers(actor: Actor, wanted: tuple[str, ...], what: str) -> None:
    """A token may hand on only what its own scopes allow: a token it creates, a role it grants,
    a password it sets must not open more than the token itself could do."""
    if actor.superuser or _perms.scopes_cover(list(actor.token_scopes) if actor.token_scopes is not None else None, wanted):
        return
    assert actor.token_scopes is not None
    raise PermissionDenied(
        f"{what} would reach beyond {actor.name}'s token (scopes: {', '.join(actor.token_scopes)}); "
        "use a token with the write scope, or sign in",
        code="auth.token_scope",
    )


def _grant_patterns(grants: list[Grant] | tuple[Grant, ...]) -> tuple[str, ...]:
    return tuple(p for g in grants for p in _perms.role_patterns(g.role))


# ---------------------------------------------------------------- users


def _user_read(user: User) -> UserRead:
    read = UserRead.model_validate(user)
    read.grants = [str(_grant_of(b)) for b in user.bindings]
    return read


def _grant_of(binding: RoleBinding) -> Grant:
    return Grant(role=Role(binding.role), scope_kind=binding.scope_kind, scope_name=binding.scope_name)


def _get_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named '{username}'; `watchkeeper user list` shows them", code="user.not_found")
    return user


def create_user(session: Session, *, data: UserCreate, actor: Actor) -> tuple[UserRead, str]:
    """Create a user; returns it with its password (generated when none was given).

    Raises Conflict when the username is taken. Audited. Does not commit.
    """
    require(actor, "user.create")
    _require_token_covers(actor, _grant_patterns(data.grants), f"creating user '{data.username}' with {', '.join(map(str, data.grants))}")
    if session.execute(select(User.id).where(User.username == data.username)).first():
        raise Conflict(f"user '{data.username}' already exists; pick another username", code="user.exists")
    password = data.password or secrets.token_urlsafe(15)
    user = User(
        username=data.username, email=data.email, full_name=data.full_name,
        password_hash=_hasher.hash(password), must_change_password=data.password is None,
    )
    session.add(user)
    session.flush()
    for grant in data.grants:
        _bind(session, user, grant, actor)
    session.flush()
    read = _user_read(user)
    audit.record(session, actor=actor, action="user.create", target=f"user:{user.username}",
                 after=read.model_dump(exclude={"last_login_at"}))
    return read, password


def _bind(session: Session, user: User, grant: Grant, actor: Actor) -> None:
    user.bindings.append(
        RoleBinding(role=grant.role.value, scope_kind=grant.scope_kind, scope_name=grant.scope_name,
                    granted_at=clock.utcnow(), granted_by=actor.name)
    )


def grant_role(session: Session, *, username: str, grant: Grant, actor: Actor) -> UserRead:
    require(actor, "user.update")
    _require_token_covers(actor, _grant_patterns([grant]), f"granting {grant}")
    user = _get_user(session, username)
    if any(_grant_of(b) == grant for b in user.bindings):
        return _user_read(user)
    _bind(session, user, grant, actor)
    session.flush()
    audit.record(session, actor=actor, action="user.grant", target=f"user:{username}", after={"grant": str(grant)})
    return _user_read(user)


def revoke_role(session: Session, *, username: str, grant: Grant, actor: Actor) -> UserRead:
    require(actor, "user.update")
    user = _get_user(session, username)
    match = [b for b in user.bindings if _grant_of(b) == grant]
    if not match:
        raise NotFound(f"user '{username}' does not hold {grant}", code="user.grant_not_found")
    for binding in match:
        user.bindings.remove(binding)
    session.flush()
    audit.record(session, actor=actor, action="user.revoke", target=f"user:{username}", before={"grant": str(grant)})
    return _user_read(user)


def set_password(session: Session, *, username: str, password: str, actor: Actor) -> None:
    if len(password) < 12:
        raise InvalidInput("password is shorter than 12 characters; choose a longer one", field="password")
    user = _get_user(session, username)
    if actor.id != user.id:
        require(actor, "user.update")
        # Whoever knows the password acts with all the user's roles.
        _require_token_covers(actor, _grant_patterns([_grant_of(b) for b in user.bindings]),
                              f"setting the password of '{username}'")
    else:
        _require_token_scope(actor, "user.set_password")
    user.password_hash = _hasher.hash(password)
    user.must_change_password = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.id.is_not(None)))
    audit.record(session, actor=actor, action="user.set_password", target=f"user:{username}")


def change_own_password(session: Session, *, actor: Actor, current: str, new: str) -> None:
    """The signed-in user replaces their password (the way out of a one-time password). The
    current password is asked again, so a stolen session cannot lock its owner out. Every
    session of the user ends, this one included. Audited. Does not commit."""
    if actor.id is None:
        raise InvalidInput("only a user has a password to change; use `watchkeeper user set-password`", field="current_password")
    user = session.get(User, actor.id)
    try:
        ok = user is not None and bool(user.password_hash) and _hasher.verify(user.password_hash, current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise InvalidInput("the current password is wrong", field="current_password")
    if new == current:
        raise InvalidInput("the new password is the current one; choose another", field="new_password")
    set_password(session, username=user.username, password=new, actor=actor)


def deactivate_user(session: Session, *, username: str, actor: Actor) -> UserRead:
    require(actor, "user.update")
    user = _get_user(session, username)
    user.is_active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit.record(session, actor=actor, action="user.deactivate", target=f"user:{username}",
                 before={"is_active": True}, after={"is_active": False})
    return _user_read(user)


def list_users(session: Session, *, actor: Actor) -> list[UserRead]:
    require(actor, "user.read")
    return [_user_read(u) for u in session.execute(select(User).order_by(User.username)).scalars()]


def get_user(session: Session, *, username: str) -> UserRead:
    return _user_read(_get_user(session, username))


def count_users(session: Session) -> int:
    return session.execute(select(func.count(User.id))).scalar_one()


def ensure_first_admin(session: Session) -> str | None:
    """On an empty database, create user 'admin' and return its one-time password.

    Returns None when any user exists. Audited as the system. Does not commit.
    """
    if count_users(session):
        return None
    system = Actor.system("system", "system")
    _, password = create_user(
        session, data=UserCreate(username="admin", full_name="First administrator", grants=[Grant(role=Role.ADMIN)]),
        actor=system,
    )
    return password


def actor_for_user(
    user: User, *, source: str, token_scopes: tuple[str, ...] | None = None, token_expires_at: dt.datetime | None = None,
) -> Actor:
    return Actor(
        name=user.username, id=user.id, source=source,
        grants=tuple(_grant_of(b) for b in user.bindings), token_scopes=token_scopes,
        token_expires_at=token_expires_at, password_change_required=bool(user.must_change_password),
    )


# ---------------------------------------------------------------- login and sessions


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def login(
    session: Session, *, username: str, password: str, client: str, hours: int,
    max_failures: int, window_seconds: int,
) -> tuple[str, WebSession, Actor]:
    """Check a password and open a UI session; returns (cookie value, session row, actor).

    Throttled per client address, never per account alone (`_login_wait`), so nobody can lock
    a user out by failing on their behalf. Failures are recorded and audited.
    Raises Unauthenticated or RateLimited. Does not commit (the caller must commit failures too).
    """
    now = clock.utcnow()
    wait = _login_wait(session, username=username[:100], client=client[:100], now=now,
                       max_failures=max_failures, window_seconds=window_seconds)
    if wait:
        raise RateLimited(
            f"too many failed logins for '{username}' from this address; try again in {wait} s",
            retry_after=wait, code="auth.rate_limited",
        )
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    ok = False
    if user is not None and user.is_active and user.password_hash:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    else:
        try:
            _hasher.verify(_dummy(), password)  # same cost whether or not the user exists
        except VerifyMismatchError:
            pass
    session.add(LoginAttempt(username=username[:100], client=client[:100], at=now, success=ok))
    system = Actor.system(f"anonymous@{client}", "ui")
    if not ok:
        audit.record(session, actor=system, action="auth.login_failed", target=f"user:{username[:100]}")
        session.flush()
        raise Unauthenticated("wrong username or password", code="auth.bad_credentials")
    assert user is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    raw = secrets.token_urlsafe(32)
    web = WebSession(
        token_hash=_sha(raw), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
        created_at=now, expires_at=now + dt.timedelta(hours=hours), client=client[:100],
    )
    session.add(web)
    session.flush()
    actor = actor_for_user(user, source="ui")
    audit.record(session, actor=actor, action="auth.login", target=f"user:{user.username}")
    return raw, web, actor


LOGIN_BACKOFF_SECONDS = 15


def _login_wait(session: Session, *, username: str, client: str, now: dt.datetime, max_failures: int,
                window_seconds: int) -> int:
    """Seconds this client must still wait before trying a password again; 0: go ahead.

    A client gets `max_failures` tries per username within the window, then waits 15 s after its
    latest failure, doubling with every further failure up to the window. The same backoff
    applies to a client's failures over all usernames beyond 4 × `max_failures` (password
    spraying). Other clients are never held back, so failing on purpose cannot lock a user out.
    """
    since = now - dt.timedelta(seconds=window_seconds)
    failed = (LoginAttempt.at >= since, LoginAttempt.success.is_(False), LoginAttempt.client == client)
    pair = session.execute(select(func.count(), func.max(LoginAttempt.at)).where(*failed, LoginAttempt.username == username)).one()
    spray = session.execute(select(func.count(), func.max(LoginAttempt.at)).where(*failed)).one()
    wait = 0.0
    for (count, last), allowed in ((pair, max_failures), (spray, max_failures * 4)):
        if count >= allowed and last is not None:
            backoff = min(window_seconds, LOGIN_BACKOFF_SECONDS * 2 ** min(count - allowed, 20))
            wait = max(wait, backoff - (now - clock.ensure_aware(last)).total_seconds())
    return max(0, math.ceil(wait))


def resolve_session(session: Session, *, cookie: str) -> tuple[Actor, WebSession] | None:
    row = session.execute(select(WebSession).where(WebSession.token_hash == _sha(cookie))).scalar_one_or_none()
    if row is None or row.expires_at <= clock.utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return actor_for_user(user, source="ui"), row


def logout(session: Session, *, cookie: str, actor: Actor) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _sha(cookie)))
    audit.record(session, actor=actor, action="auth.logout", target=f"user:{actor.name}")


def check_csrf(web_session: WebSession, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(web_session.csrf_token, submitted):
        raise PermissionDenied("the form's CSRF token is missing or stale; reload the page and submit again", code="auth.csrf")


# ---------------------------------------------------------------- API tokens


def create_token(session: Session, *, username: str, data: TokenCreate, actor: Actor) -> TokenCreated:
    """Issue a token for `username`; the secret is returned once and stored as a SHA-256 hash.

    A user may create tokens for themselves; others need `token.manage`. A token never carries
    more than its owner's roles. When the actor is itself a token, its scopes must allow
    `token.create` (or `token.manage`), the new token's scopes must lie within its own, and the
    new token must not outlive it. Raises PermissionDenied, InvalidInput. Audited. Does not commit.
    """
    user = _get_user(session, username)
    if actor.id != user.id:
        require(actor, "token.manage")
    else:
        _require_token_scope(actor, "token.create")
    _require_token_covers(actor, _perms.scope_patterns(list(data.scopes)), f"a token with scopes {', '.join(data.scopes)}")
    now = clock.utcnow()
    expires = now + dt.timedelta(days=data.expires_in_days) if data.expires_in_days else None
    if actor.token_expires_at is not None and (expires is None or expires > actor.token_expires_at):
        days = max((actor.token_expires_at - now).days, 0)
        raise InvalidInput(
            f"a token cannot outlive the token that creates it (expires {actor.token_expires_at:%Y-%m-%d %H:%M} UTC); "
            + (f"set expires_in_days to {days} or less" if days else "sign in to create a longer-lived token"),
            field="expires_in_days", code="auth.token_outlives_creator",
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    raw = f"{TOKEN_PREFIX}{prefix}_{secret}"
    token = ApiToken(user_id=user.id, name=data.name, prefix=prefix, token_hash=_sha(raw),
                     scopes=list(data.scopes), expires_at=expires)
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="token.create", target=f"token:{prefix}",
                 after={"user": username, "name": data.name, "scopes": data.scopes, "expires_at": expires})
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=raw)


def authenticate_token(session: Session, *, raw: str, source: str = "api") -> Actor:
    """Resolve a bearer token to an actor; records last use at most once a minute."""
    parts = raw.split("_")
    if not raw.startswith(TOKEN_PREFIX) or len(parts) < 3:
        raise Unauthenticated("the bearer token is malformed; tokens look like wk_xxxxxxxx_...", code="auth.bad_token")
    prefix = parts[1]
    token = session.execute(select(ApiToken).where(ApiToken.prefix == prefix)).scalar_one_or_none()
    if token is None or not hmac.compare_digest(token.token_hash, _sha(raw)):
        raise Unauthenticated("the bearer token is not known; create one with `watchkeeper token create`", code="auth.bad_token")
    now = clock.utcnow()
    if token.revoked_at is not None:
        raise Unauthenticated(f"token {prefix} was revoked; create a new one", code="auth.token_revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated(f"token {prefix} expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one", code="auth.token_expired")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated(f"the owner of token {prefix} is deactivated", code="auth.user_inactive")
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return actor_for_user(user, source=source, token_scopes=tuple(token.scopes), token_expires_at=token.expires_at)


def list_tokens(session: Session, *, username: str | None, actor: Actor) -> list[TokenRead]:
    query = select(ApiToken).order_by(ApiToken.id)
    if username is not None:
        user = _get_user(session, username)
        if actor.id != user.id:
            require(actor, "token.manage")
        else:
            _require_token_scope(actor, "token.read")
        query = query.where(ApiToken.user_id == user.id)
    else:
        require(actor, "token.manage")
    return [TokenRead.model_validate(t) for t in session.execute(query).scalars()]


def revoke_token(session: Session, *, prefix: str, actor: Actor) -> TokenRead:
    token = session.execute(select(ApiToken).where(ApiToken.prefix == prefix)).scalar_one_or_none()
    if token is None:
        raise NotFound(f"no token with prefix '{prefix}'; `watchkeeper token list` shows them", code="token.not_found")
    if actor.id != token.user_id:
        require(actor, "token.manage")
    else:
        _require_token_scope(actor, "token.revoke")
    if token.revoked_at is None:
        token.revoked_at = clock.utcnow()
        audit.record(session, actor=actor, action="token.revoke", target=f"token:{prefix}")
    session.flush()
    return TokenRead.model_validate(token)
