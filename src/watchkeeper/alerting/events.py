"""Events the alert pipeline publishes (incidents will subscribe to open incidents from them)."""

from __future__ import annotations

import dataclasses

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class AlertStatusChanged(Event):
    """An alert started firing (again) or resolved."""

    alert_id: int
    fingerprint: str
    alertname: str
    status: str
    service: str | None
    severity: str | None


@dataclasses.dataclass(frozen=True)
class AlertAcknowledged(Event):
    alert_id: int
    fingerprint: str
    actor: str
