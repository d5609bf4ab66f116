"""On-call inputs and outputs. Inputs subclass `validation.Strict`; every field is size-limited."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.durations import Duration
from watchkeeper.validation import Strict, TimeZone

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
HANDLE = Field(min_length=1, max_length=100)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_WINDOW = dt.timedelta(days=92)  # the longest timeline one call computes


class Restriction(Strict):
    """The layer is on only inside these local wall-clock windows: on each of `days`, from
    `start` to `end` (an `end` at or before `start` runs past midnight into the next day)."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS[:5]), min_length=1, max_length=7)
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("restriction times are wall-clock times in the schedule's time zone; drop the offset")
        return value


class Layer(Strict):
    """A rotation: `members` in order take shifts of `shift_length` `shift_unit`s; hand-offs
    happen at `handoff_time` (local wall clock) — weekly rotations on `handoff_weekday` — from
    `start` on. Before `start` the layer covers nothing."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique within the schedule.")
    members: list[str] = Field(min_length=1, max_length=50)
    shift_length: int = Field(1, ge=1, le=366)
    shift_unit: Literal["hours", "days", "weeks"] = "weeks"
    handoff_time: dt.time = dt.time(9, 0)
    handoff_weekday: Day | None = Field(None, description="Weekly rotations only: the weekday of the hand-off.")
    start: dt.date
    restrictions: list[Restriction] = Field(default_factory=list, max_length=20)

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        for handle in value:
            if not 1 <= len(handle) <= 100:
                raise ValueError("a member is a person's handle of 1 to 100 characters")
        return value

    @model_validator(mode="after")
    def _check(self) -> "Layer":
        if self.handoff_time.tzinfo is not None:
            raise ValueError("handoff_time is a wall-clock time in the schedule's time zone; drop the offset")
        if self.handoff_weekday is not None and self.shift_unit != "weeks":
            raise ValueError(f"handoff_weekday applies to weekly rotations only; drop it or use shift_unit: weeks (layer '{self.name}')")
        if self.shift_unit == "hours" and self.shift_length > 24 * 28:
            raise ValueError("an hourly shift may last at most 672 hours; use days or weeks")
        return self


class ScheduleCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    team: str = Field(min_length=1, max_length=100)
    timezone: TimeZone = "UTC"
    description: str | None = Field(None, max_length=500)
    layers: list[Layer] = Field(min_length=1, max_length=10,
                                description="Lowest first: a later layer wins where it has someone on call.")

    @field_validator("layers")
    @classmethod
    def _unique(cls, value: list[Layer]) -> list[Layer]:
        names = [layer.name for layer in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"layer names must be unique in a schedule; {', '.join(dupes)} repeats")
        return value


class ScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    team: str
    timezone: str
    description: str | None
    layers: list[Layer]
    managed_by: str


class OverrideCreate(Strict):
    """`person` covers `schedule` from `start` to `end`, above every layer."""

    schedule: str = Field(pattern=NAME_PATTERN)
    person: str = HANDLE
    start: AwareDatetime
    end: AwareDatetime
    reason: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _order(self) -> "OverrideCreate":
        if self.end <= self.start:
            raise ValueError("override end must be after its start")
        if self.end - self.start > dt.timedelta(days=92):
            raise ValueError("an override may last at most 92 days; change the rotation instead")
        return self


class OverrideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    schedule: str
    person: str
    start: dt.datetime
    end: dt.datetime
    reason: str | None
    created_by: str
    created_at: dt.datetime


class Segment(BaseModel):
    """One stretch of the final timeline: `person` is on call from `start` to `end` (UTC),
    because of `source` ("layer:<name>" or "override:<id>")."""

    model_config = ConfigDict(frozen=True)

    start: dt.datetime
    end: dt.datetime
    person: str
    source: str


class TimelineRead(BaseModel):
    schedule: str
    timezone: str
    start: dt.datetime
    end: dt.datetime
    segments: list[Segment]


class OnCallRead(BaseModel):
    """Who is on call at `at` on one schedule (person None: nobody)."""

    schedule: str
    at: dt.datetime
    person: str | None
    source: str | None
    until: dt.datetime | None


# ---------------------------------------------------------------------------- escalation policies


class EscalationTarget(Strict):
    """Whom a level pages: a person (by handle), a schedule (whoever is on call at the moment
    the level is paged) or a team (every member of the catalog team)."""

    kind: Literal["person", "schedule", "team"]
    name: str = Field(min_length=1, max_length=100)


class EscalationLevel(Strict):
    targets: list[EscalationTarget] = Field(min_length=1, max_length=10)
    timeout: Duration = Field(dt.timedelta(minutes=15), description="How long this level has to acknowledge, e.g. 15m.")
    mode: Literal["all", "round_robin"] = Field(
        "all", description="all: page every person the targets resolve to; round_robin: page one of them, the next "
                           "one for each new escalation of the policy and each repeat.")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=1) <= value <= dt.timedelta(hours=24):
            raise ValueError("a level's timeout is between 1s and 24h")
        return value


class ResponseTarget(Strict):
    """How fast an escalation of this `severity` (the alert's severity label; "default" for any
    severity without a target of its own) must be acknowledged and resolved."""

    severity: str = Field("default", min_length=1, max_length=30)
    ack: Duration | None = Field(None, description="Time to acknowledge, e.g. 5m.")
    resolve: Duration | None = Field(None, description="Time to resolve, e.g. 4h.")

    @model_validator(mode="after")
    def _some(self) -> "ResponseTarget":
        if self.ack is None and self.resolve is None:
            raise ValueError(f"response target '{self.severity}' needs ack, resolve or both")
        for name, value in (("ack", self.ack), ("resolve", self.resolve)):
            if value is not None and not dt.timedelta(seconds=1) <= value <= dt.timedelta(days=30):
                raise ValueError(f"response target '{self.severity}': {name} is between 1s and 30d")
        return self


class PolicyCreate(Strict):
    """An escalation policy: `levels` in order, each paged until its timeout passes unanswered;
    the whole policy repeats `repeat` more times. `services` use it as their policy (a service
    has at most one)."""

    name: str = Field(pattern=NAME_PATTERN)
    team: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    services: list[str] = Field(default_factory=list, max_length=100)
    levels: list[EscalationLevel] = Field(min_length=1, max_length=10)
    repeat: int = Field(0, ge=0, le=10)
    response_targets: list[ResponseTarget] = Field(
        default_factory=list, max_length=20,
        description="Response SLAs per severity: time to acknowledge and to resolve; breaches are flagged.")

    @field_validator("response_targets")
    @classmethod
    def _one_per_severity(cls, value: list[ResponseTarget]) -> list[ResponseTarget]:
        names = [t.severity for t in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"response_targets: severity {', '.join(dupes)} is listed twice; list each once")
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        for name in value:
            if not 1 <= len(name) <= 100:
                raise ValueError("a service is named by 1 to 100 characters")
        if len(set(value)) != len(value):
            raise ValueError("a service is listed twice; list each once")
        return value


class PolicyRead(BaseModel):
    name: str
    team: str
    description: str | None
    services: list[str]
    levels: list[EscalationLevel]
    repeat: int
    response_targets: list[ResponseTarget] = Field(default_factory=list)
    managed_by: str


# ---------------------------------------------------------------------------- escalations

EscalationStatus = Literal["active", "acknowledged", "exhausted", "resolved"]


class EscalationEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    kind: str
    level: int | None = Field(None, description="1-based level number.")
    loop: int | None = Field(None, description="0 for the first pass through the levels, 1 for the first repeat, ...")
    people: list[str]
    actor: str | None
    detail: dict | None


class EscalationRead(BaseModel):
    """An escalation. `level` is the 1-based level paged last (None before the first page);
    `next_level`/`next_loop`/`next_step_at` the step due next (None once none is due)."""

    id: int
    ref: str
    service: str | None
    policy: str
    summary: str
    severity: str | None
    status: EscalationStatus
    level: int | None
    loop: int
    next_level: int | None
    next_step_at: dt.datetime | None
    started_at: dt.datetime
    acked_at: dt.datetime | None
    acked_by: str | None
    resolved_at: dt.datetime | None
    ack_target: dt.timedelta | None = None
    resolve_target: dt.timedelta | None = None
    ack_breached: bool = False
    resolve_breached: bool = False
    events: list[EscalationEventRead] = Field(default_factory=list)


class ResponseRow(BaseModel):
    """Response times of the escalations started in a window, for one service, team or person
    (a person: the escalations they acknowledged). Times in seconds; None when none."""

    key: str
    escalations: int
    acknowledged: int
    resolved: int
    mtta_s: float | None
    mttr_s: float | None
    ack_breaches: int
    resolve_breaches: int


class ReassignIn(Strict):
    """Page `person` now; the escalation carries on after the current level's timeout if
    nobody acknowledges."""

    person: str = HANDLE


# ---------------------------------------------------------------------------- coverage


class Gap(BaseModel):
    """Support hours with nobody reachable at level 1: `kind` "nobody" (no one on call) or
    "no_contact" (someone is on call but has no contact method)."""

    start: dt.datetime
    end: dt.datetime
    kind: Literal["nobody", "no_contact"]
    people: list[str] = Field(default_factory=list)


class CoverageRead(BaseModel):
    service: str
    policy: str | None
    start: dt.datetime
    end: dt.datetime
    support_hours: str
    status: Literal["pass", "warn", "fail"]
    reason: str
    gaps: list[Gap]
    people: list[str]  # distinct people on call at level 1 during support hours
    bus_factor: int  # how many of them can be reached
    contactless: list[str]  # on call at level 1 in the window but without a contact method


# ---------------------------------------------------------------------------- watchkeeper.yaml


class OncallConfig(Strict):
    """The `oncall:` section of watchkeeper.yaml. Omitted: on-call objects are left alone."""

    schedules: list[ScheduleCreate] = Field(default_factory=list, max_length=500)
    policies: list[PolicyCreate] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _unique(self) -> "OncallConfig":
        for what, items in (("schedules", self.schedules), ("policies", self.policies)):
            names = [i.name for i in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"oncall.{what}: {', '.join(dupes)} declared twice; rename or remove one")
        return self
