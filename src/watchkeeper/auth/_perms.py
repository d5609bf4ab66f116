"""Pure permission logic: which role grants which permission, and token scope matching."""

from __future__ import annotations

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

# Named token scopes expand to permission patterns; anything else is taken as a pattern.
TOKEN_SCOPES: dict[str, tuple[str, ...]] = {
    "read": ("*.read",),
    "write": ("*",),
    "ingest": ("alert.ingest", "metric.push", "heartbeat.ping"),
    "deploy": ("deploy.*", "readiness.read", "service.read"),
}

# Only an admin may do these, whatever a binding's scope says.
GLOBAL_ONLY = ("user.*", "token.manage", "config.apply", "audit.checkpoint", "service.force", "monitor.command")


def role_grants(role: str, permission: str) -> bool:
    try:
        patterns = ROLE_GRANTS[Role(role)]
    except ValueError:
        return False
    return any(fnmatchcase(permission, p) for p in patterns)


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
