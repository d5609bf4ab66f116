"""Pure permission logic: which role grants which permission, and token scope matching."""

from __future__ import annotations

import re
from enum import StrEnum
from fnmatch import fnmatchcase


class Role(StrEnum):
    VIEWER = "viewer"
    RESPONDER = "responder"
    OPERATOR = "operator"
    ADMIN = "admin"
    AUDITOR = "auditor"


# Permissions are "<noun>.<verb>". Reading is "<noun>.read".
ROLE_GRANTS: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("*.read",),
    Role.RESPONDER: ("*.read", "alert.*", "incident.*", "silence.*", "runbook.run", "signoff.create"),
    Role.OPERATOR: (
        "*.read", "alert.*", "incident.*", "silence.*", "maintenance.*", "runbook.*", "service.*",
        "team.*", "person.*", "monitor.*", "metric.*", "backup.*", "deploy.*", "flag.*", "oncall.*",
        "job.*", "signoff.*", "readiness.*", "routing.*", "assessment.*", "rule.*", "slo.*",
    ),
    Role.ADMIN: ("*",),
    Role.AUDITOR: ("*.read", "audit.*", "accessreview.*"),
}

# What a role's patterns would match but the role does not hold: the audit log records every
# team's changes, so reading it is for admins and auditors, not for whoever may read "*.read".
ROLE_DENIES: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("audit.*",),
    Role.RESPONDER: ("audit.*",),
    Role.OPERATOR: ("audit.*",),
}

# Named token scopes expand to permission patterns; anything else is taken as a pattern.
TOKEN_SCOPES: dict[str, tuple[str, ...]] = {
    "read": ("*.read",),
    "write": ("*",),
    "ingest": ("alert.ingest", "metric.push", "heartbeat.ping"),
    "deploy": ("deploy.*", "readiness.read", "service.read"),
}

# Only an admin may do these, whatever a binding's scope says.
# The audit log is not partitioned by team, so a team- or service-scoped auditor reads none of it.
GLOBAL_ONLY = ("user.*", "token.manage", "config.apply", "audit.*", "service.force", "monitor.command")


def role_grants(role: str, permission: str) -> bool:
    try:
        which = Role(role)
    except ValueError:
        return False
    if any(fnmatchcase(permission, p) for p in ROLE_DENIES.get(which, ())):
        return False
    return any(fnmatchcase(permission, p) for p in ROLE_GRANTS[which])


def scope_patterns(scopes: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for scope in scopes:
        out.extend(TOKEN_SCOPES.get(scope, (scope,)))
    return tuple(out)


def scopes_allow(scopes: list[str] | None, permission: str) -> bool:
    if scopes is None:
        return True
    return any(fnmatchcase(permission, p) for p in scope_patterns(scopes))


def is_global_only(permission: str) -> bool:
    return any(fnmatchcase(permission, p) for p in GLOBAL_ONLY)


# A scope that is not a named scope is a permission pattern "<noun>.<verb>" whose parts are a
# word or "*" ("service.*", "*.read", "alert.ingest"). No "?" or "[...]": with "*" as the only
# wildcard, `pattern_covered` below is exact.
_SCOPE_PATTERN = re.compile(r"^(\*|[a-z][a-z_]*)(\.(\*|[a-z][a-z_]*))?$")


def scope_error(scope: str) -> str | None:
    """Why `scope` is not a valid token scope, or None when it is."""
    if scope in TOKEN_SCOPES or _SCOPE_PATTERN.match(scope):
        return None
    return (f"unknown token scope {scope!r}; use {', '.join(TOKEN_SCOPES)} or a permission pattern "
            "like service.* or *.read")


def pattern_covered(pattern: str, by: tuple[str, ...]) -> bool:
    """Whether every permission matched by `pattern` is matched by one of `by`.

    With "*" as the only wildcard this is a literal match of `pattern`'s text against each of
    `by`: a "*" in `by` may swallow a "*" of `pattern`, a word in `by` must meet the same word.
    """
    return any(fnmatchcase(pattern, holder) for holder in by)


def scopes_cover(held: list[str] | None, wanted: tuple[str, ...]) -> bool:
    """Whether a token with scopes `held` (None: a session, unrestricted) already allows every
    permission pattern in `wanted`, so handing `wanted` on cannot widen what it can do."""
    if held is None:
        return True
    holder = scope_patterns(held)
    return all(pattern_covered(p, holder) for p in wanted)


def role_patterns(role: str) -> tuple[str, ...]:
    return ROLE_GRANTS[Role(role)]
