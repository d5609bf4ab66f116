from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: dt.datetime
    actor: str
    actor_id: int | None
    action: str
    target: str
    source: str
    before: Any | None
    after: Any | None
    note: str | None
    prev_hash: str
    hash: str


class AuditFilter(BaseModel):
    actor: str | None = None
    action: str | None = Field(None, description="Prefix match, e.g. `service.` for every service action.")
    target: str | None = Field(None, description="Substring of the target, e.g. `service:payments`.")
    source: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before_seq: int | None = Field(None, description="Page backwards: events older than this sequence number.")
    limit: int = Field(100, ge=1, le=1000)


class VerifyReport(BaseModel):
    ok: bool
    events_checked: int
    checkpoints_checked: int = 0
    anchors_checked: int = 0
    signed_through: int = Field(0, description="The newest event a trusted signature vouches for.")
    first_bad_seq: int | None = None
    reason: str | None = None

    def failed(self, reason: str) -> "VerifyReport":
        return self.model_copy(update={"ok": False, "reason": reason})

    @classmethod
    def broken(cls, checked: int, seq: int, reason: str) -> "VerifyReport":
        return cls(ok=False, events_checked=checked, first_bad_seq=seq, reason=reason)
