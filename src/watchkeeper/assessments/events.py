from __future__ import annotations

import dataclasses

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class AuditResultRecorded(Event):
    """A suite was audited (built-in run or an external tool's result) or a finding resolved."""

    service: str
    suite: str
    tool: str
