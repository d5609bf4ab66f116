"""Events on-call publishes (the alert pipeline subscribes to flag a missed response target on
the alerts an escalation pages about; on-call never imports it)."""

from __future__ import annotations

import dataclasses

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class ResponseTargetMissed(Event):
    """An escalation was not acknowledged (`kind` "ack") or resolved ("resolve") within its
    policy's response target for its severity."""

    escalation_id: int
    ref: str
    kind: str
    service: str | None
    severity: str | None
    target_seconds: int
