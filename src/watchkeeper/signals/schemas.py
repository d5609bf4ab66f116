"""What the signal history looks like from outside."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SignalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    source: str
    name: str
    firing: bool
    service: str | None
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: dt.datetime
    ends_at: dt.datetime | None


class SignalFilter(BaseModel):
    source: Literal["probe", "heartbeat", "rule", "slo", "readiness"] | None = None
    name: str | None = None
    service: str | None = None
    limit: int = Field(100, ge=1, le=1000)
