from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    payload: Any
    status: JobStatus
    dedupe_key: str | None
    run_after: dt.datetime
    attempts: int
    max_attempts: int | None
    claimed_by: str | None
    lease_until: dt.datetime | None
    last_error: str | None
    result: Any | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class JobFilter(BaseModel):
    kind: str | None = None
    status: JobStatus | None = None
    limit: int = Field(100, ge=1, le=1000)


class QueueStats(BaseModel):
    depth: int = Field(description="Jobs ready to run now.")
    lag_seconds: float = Field(description="How long the oldest ready job has waited.")
    running: int
    dead: int
