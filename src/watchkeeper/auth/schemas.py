from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.auth._perms import Role, scope_error
from watchkeeper.validation import Strict

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"


class Grant(Strict):
    """A role bound globally, to a team or to a service: `operator`, `operator@team:payments`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    scope_kind: str = Field("global", pattern="^(global|team|service)$")
    scope_name: str = Field("", max_length=100, pattern=r"^[^\s\x00-\x1f]*$")

    @model_validator(mode="after")
    def _scope(self) -> "Grant":
        if self.scope_kind == "global" and self.scope_name:
            raise ValueError(f"a global grant has no scope_name; drop {self.scope_name!r} or set scope_kind to team or service")
        if self.scope_kind != "global" and not self.scope_name:
            raise ValueError(f"a {self.scope_kind} grant needs the {self.scope_kind}'s name in scope_name")
        return self

    @classmethod
    def parse(cls, text: str) -> "Grant":
        role, _, scope = text.partition("@")
        kind, _, name = scope.partition(":")
        try:
            role_enum = Role(role.strip())
        except ValueError:
            raise ValueError(
                f"unknown role {role!r}; roles are: {', '.join(r.value for r in Role)}"
            ) from None
        if not scope:
            return cls(role=role_enum)
        if kind not in {"team", "service"} or not name:
            raise ValueError(f"scope {scope!r} must be team:NAME or service:NAME")
        return cls(role=role_enum, scope_kind=kind, scope_name=name)

    def __str__(self) -> str:
        return self.role.value if self.scope_kind == "global" else f"{self.role.value}@{self.scope_kind}:{self.scope_name}"


class UserCreate(Strict):
    username: str = Field(pattern=USERNAME_PATTERN)
    email: str | None = None
    full_name: str | None = None
    password: str | None = Field(None, min_length=12, description="At least 12 characters; omit to generate one.")
    grants: list[Grant] = Field(default_factory=list)

    @field_validator("grants")
    @classmethod
    def _distinct(cls, value: list[Grant]) -> list[Grant]:
        seen: set[str] = set()
        for grant in value:
            if str(grant) in seen:
                raise ValueError(f"grant {grant} is listed twice; list each grant once")
            seen.add(str(grant))
        return value


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str | None
    full_name: str | None
    is_active: bool
    last_login_at: dt.datetime | None
    grants: list[str] = Field(default_factory=list)


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    expires_in_days: int | None = Field(90, ge=1, le=3650, description="Days until the token stops working; null for never.")

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a token needs at least one scope, e.g. read, write, ingest, deploy")
        for scope in value:
            if (error := scope_error(scope)) is not None:
                raise ValueError(error)
        return list(dict.fromkeys(value))


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_at: dt.datetime


class TokenCreated(TokenRead):
    token: str = Field(description="The secret; shown only this once.")
