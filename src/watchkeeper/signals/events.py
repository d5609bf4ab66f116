"""The event every internal signal publishes (through `signals.service.emit`). The alert
pipeline subscribes to it, and readiness re-evaluates the signal's service."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class SignalChanged(Event):
    """A monitor, heartbeat, alert rule or SLO burn-rate alert started or stopped firing.

    `labels` identify the alert (the pipeline fingerprints them) and always include
    `alertname` and, when known, `service`; `annotations` carry summary, description and
    runbook_url. `source` is one of: probe, heartbeat, rule, slo, readiness.
    """

    source: str
    name: str
    firing: bool
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    service: str | None = None
    severity: str = "critical"
    generator_url: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
