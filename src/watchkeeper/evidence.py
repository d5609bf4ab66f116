"""The shape of readiness evidence, shared by every domain that can answer a readiness check.

A domain that owns evidence (monitoring, alerting, backups, runbooks, ...) writes a provider
`(session, service: ServiceRead) -> Evidence` in its own `evidence.py`; `app.wire()` registers
it with the readiness engine under a check id. Domains never import readiness.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class Evidence:
    status: Status
    reason: str  # one line that tells the user what to do next
    observed_at: dt.datetime | None = None  # when the underlying fact was observed
    link: str | None = None  # UI path or URL where the evidence can be inspected
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def unknown(cls, reason: str) -> "Evidence":
        return cls(status=Status.UNKNOWN, reason=reason)
