"""Heartbeat monitors: not probed. The job pings Watchkeeper (probes/heartbeats.py) and a
missing ping past its deadline (probes/_heartbeat.py) takes the monitor down."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import Field, model_validator

from watchkeeper.durations import Duration
from watchkeeper.monitoring.probes import _heartbeat
from watchkeeper.validation import Strict, TimeZone


class HeartbeatSpec(Strict):
    kind: ClassVar[str] = "heartbeat"

    period: Duration | None = Field(None, description="Expected time between pings, e.g. 1h.")
    cron: str | None = Field(None, description="Or a cron expression for when the job runs, e.g. '0 3 * * *'.")
    timezone: TimeZone = "UTC"
    grace: Duration = Field(dt.timedelta(minutes=5), description="How late a ping may be before the monitor is down.")

    @model_validator(mode="after")
    def _one(self) -> "HeartbeatSpec":
        if (self.period is None) == (self.cron is None):
            raise ValueError("a heartbeat needs exactly one of period (e.g. 1h) or cron (e.g. '0 3 * * *')")
        if self.cron is not None and not _heartbeat.valid_cron(self.cron):
            raise ValueError(f"cron {self.cron!r} is not a valid cron expression; write e.g. '*/15 * * * *'")
        if self.period is not None and self.period.total_seconds() < 1:
            raise ValueError("period must be at least 1s")
        return self

