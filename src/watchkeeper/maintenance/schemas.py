from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.durations import Duration
from watchkeeper.labels import parse_matcher
from watchkeeper.maintenance import _windows
from watchkeeper.validation import Strict, TimeZone


class WindowCreate(Strict):
    """A maintenance window for a service and/or label matchers; one-off, or recurring by
    `rrule` (RFC 5545, e.g. FREQ=WEEKLY;BYDAY=SU) or `cron` (e.g. '0 2 * * 0')."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$", description="Unique name, e.g. db-upgrade.")
    service: str | None = Field(None, description="Service whose alerts it covers.")
    matchers: list[str] = Field(default_factory=list, description='Extra label matchers, e.g. severity!="critical".')
    starts_at: dt.datetime = Field(description="First (or only) start, with a time zone.")
    duration: Duration = Field(description="Length of each occurrence, e.g. 2h.")
    rrule: str | None = None
    cron: str | None = None
    timezone: TimeZone = Field("UTC", description="Zone in which rrule/cron are read.")
    until: dt.datetime | None = Field(None, description="No occurrences start after this.")
    comment: str | None = Field(None, max_length=2000)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            _windows.check_cron(value)
        return value

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return [str(parse_matcher(v)) for v in value]

    @model_validator(mode="after")
    def _shape(self) -> "WindowCreate":
        if self.starts_at.tzinfo is None:
            raise ValueError("starts_at needs a time zone, e.g. 2026-03-07T02:00:00Z")
        if self.rrule and self.cron:
            raise ValueError("give rrule or cron, not both")
        if self.duration <= dt.timedelta(0):
            raise ValueError("duration must be positive, e.g. 2h")
        if not self.service and not self.matchers:
            raise ValueError("a window needs a service or at least one matcher, or it would cover every alert")
        if self.rrule:
            _windows.check_rrule(self.rrule, start=self.starts_at, tz=self.timezone)
        return self


class WindowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    service: str | None
    matchers: list[str]
    starts_at: dt.datetime
    duration_seconds: int
    rrule: str | None
    cron: str | None
    timezone: str
    until: dt.datetime | None
    comment: str | None
    created_by: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    managed_by: str
    active_now: bool = False
    current_end: dt.datetime | None = None
    next_start: dt.datetime | None = None
    next_end: dt.datetime | None = None
