from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from watchkeeper.catalog.schemas import NAME_HELP, NAME_PATTERN
from watchkeeper.validation import Strict

# Checkpoints a sign-off can be recorded for; roles may name more in `required_for`.
CHECKPOINTS = ("refine", "launch")


class StakeholderRoleCreate(Strict):
    """A stakeholder role whose holders sign off checkpoints (declared in watchkeeper.yaml)."""

    name: str = Field(pattern=NAME_PATTERN, description="Role name, e.g. product-owner. " + NAME_HELP)
    description: str | None = Field(None, max_length=500)
    required_for: list[str] = Field(
        default_factory=list,
        description="Checkpoints (refine, launch) that need this role's sign-off. When no role is required "
        "for a checkpoint, a sign-off from any stakeholder role passes it.",
    )
    people: list[str] = Field(
        default_factory=list, description="Handles of people who may sign for this role (empty: anyone allowed to sign off)."
    )


class StakeholderRoleRead(BaseModel):
    name: str
    description: str | None
    required_for: list[str]
    people: list[str]
    managed_by: str


class SignoffCreate(Strict):
    checkpoint: str = Field(pattern=NAME_PATTERN, description="Checkpoint being signed: refine or launch.")
    role: str = Field(min_length=1, max_length=100, description="Stakeholder role the signer signs as.")
    note: str = Field(min_length=3, max_length=2000, description="What was reviewed and decided.")
    signer: str | None = Field(
        None, max_length=200,
        description="Who signs (person handle or user name). Defaults to the caller; signing for someone else needs signoff.delegate.",
    )


class SignoffRevoke(Strict):
    reason: str = Field(min_length=3, max_length=2000, description="Why the sign-off no longer holds.")


class SignoffRead(BaseModel):
    id: int
    service: str
    checkpoint: str
    role: str
    signer: str
    note: str
    signed_at: dt.datetime
    recorded_by: str
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
