"""Heartbeat monitors: not probed. The job pings Watchkeeper (probes/heartbeats.py) and a
missing ping past its deadline (probes/_heartbeat.py) takes the monitor down."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from watchkeeper import cron as crontab
from watchkeeper.durations import Duration
from watchkeeper.validation import Strict, TimeZone


class HeartbeatSpec(Strict):
    kind: ClassVar[str] = "heartbeat"

    period: Duration | None = Field(None, description="Expected time between pings, e.g. 1h.")
    cron: str | None = Field(None, description="Or when the job runs, as five crontab(5) fields read the way "
                             "cron(8) reads them, e.g. '0 3 * * *'; see docs/monitoring.md.")
    timezone: TimeZone = "UTC"
    grace: Duration = Field(dt.timedelta(minutes=5), description="How late a ping may be before the monitor is down.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        # A field validator, so the config file's error points at the cron line itself.
        if value is not None:
            crontab.check(value)  # CronInvalid is a ValueError: one line, what to write instead
        return value

    @model_validator(mode="after")
    def _one(self) -> "HeartbeatSpec":
        if (self.period is None) == (self.cron is None):
            raise ValueError("a heartbeat needs exactly one of period (e.g. 1h) or cron (e.g. '0 3 * * *')")
        if self.period is not None and self.period.total_seconds() < 1:
            raise ValueError("period must be at least 1s")
        return self

