from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from watchkeeper.catalog.stages import Stage
from watchkeeper.durations import Duration
from watchkeeper.validation import Strict, TimeZone

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
NAME_HELP = "lowercase letters, digits and dashes, starting with a letter or digit"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Link(Strict):
    title: str = Field(min_length=1, max_length=100)
    url: HttpUrl


class ContactMethod(Strict):
    kind: Literal["email", "sms", "phone", "slack", "webhook", "chat"]
    address: str = Field(min_length=1, max_length=300)


class SupportHours(Strict):
    """When the service must be supported: around the clock, or business hours in a zone."""

    kind: Literal["24x7", "business"] = "24x7"
    timezone: TimeZone = "UTC"
    days: list[str] = Field(default_factory=lambda: list(DAYS[:5]))
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in DAYS]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use {', '.join(DAYS)}")
        return value

    @model_validator(mode="after")
    def _order(self) -> "SupportHours":
        if self.kind == "business" and self.end <= self.start:
            raise ValueError("support_hours.end must be after start (overnight hours: use two services or 24x7)")
        return self


class Targets(Strict):
    """Service-level targets. Percentages are 0–100; RPO/RTO are durations like 15m or 4h."""

    sla: float | None = Field(None, gt=0, le=100, description="Contracted availability, percent.")
    slo: float | None = Field(None, gt=0, le=100, description="Internal availability objective, percent.")
    slo_window: Duration | None = Field(None, description="Rolling SLO window, e.g. 30d.")
    rpo: Duration | None = Field(None, description="Recovery point objective: data you may lose.")
    rto: Duration | None = Field(None, description="Recovery time objective: time to restore service.")

    @model_validator(mode="after")
    def _slo_over_sla(self) -> "Targets":
        if self.sla is not None and self.slo is not None and self.slo < self.sla:
            raise ValueError(f"slo {self.slo} is below sla {self.sla}; the internal objective should be at least the contract")
        return self


class TeamCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN, description=NAME_HELP)
    display_name: str | None = None
    description: str | None = None
    email: str | None = None
    chat: str | None = None
    members: list[str] = Field(default_factory=list, description="Handles of people in the team.")


class TeamUpdate(Strict):
    display_name: str | None = None
    description: str | None = None
    email: str | None = None
    chat: str | None = None
    members: list[str] | None = None


class TeamRead(BaseModel):
    name: str
    display_name: str | None
    description: str | None
    email: str | None
    chat: str | None
    members: list[str]
    managed_by: str


class PersonCreate(Strict):
    handle: str = Field(pattern=NAME_PATTERN, description=NAME_HELP)
    full_name: str | None = None
    email: str | None = None
    timezone: TimeZone = "UTC"
    contact_methods: list[ContactMethod] = Field(default_factory=list)


class PersonUpdate(Strict):
    full_name: str | None = None
    email: str | None = None
    timezone: TimeZone | None = None
    contact_methods: list[ContactMethod] | None = None


class PersonRead(BaseModel):
    handle: str
    full_name: str | None
    email: str | None
    timezone: str
    contact_methods: list[ContactMethod]
    teams: list[str]
    managed_by: str


class ServiceCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN, description=NAME_HELP)
    team: str = Field(description="Owner team's name.")
    display_name: str | None = None
    description: str | None = None
    tier: int = Field(3, ge=1, le=3, description="1 = most critical, 3 = least.")
    stage: Stage = Field(Stage.POC, description="Initial stage; later changes go through promote/demote.")
    public_url: HttpUrl | None = None
    links: list[Link] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list, description="Names of services this one needs.")
    support_hours: SupportHours | None = None
    targets: Targets = Field(default_factory=Targets)


class ServiceUpdate(Strict):
    team: str | None = None
    display_name: str | None = None
    description: str | None = None
    tier: int | None = Field(None, ge=1, le=3)
    public_url: HttpUrl | None = None
    links: list[Link] | None = None
    depends_on: list[str] | None = None
    support_hours: SupportHours | None = None
    targets: Targets | None = None


class StageChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_stage: Stage
    to_stage: Stage
    at: dt.datetime
    actor: str
    reason: str | None
    forced: bool


class ServiceRead(BaseModel):
    id: int
    name: str
    display_name: str | None
    description: str | None
    team: str
    tier: int
    stage: Stage
    public_url: str | None
    links: list[Link]
    depends_on: list[str]
    dependents: list[str]
    support_hours: SupportHours | None
    targets: Targets
    forced: bool
    forced_reason: str | None
    managed_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ServiceFilter(BaseModel):
    team: str | None = None
    stage: Stage | None = None
    tier: int | None = Field(None, ge=1, le=3)
    q: str | None = Field(None, description="Substring of name or display name.")


class PromoteRequest(Strict):
    to: Stage
    force: bool = False
    reason: str | None = Field(None, max_length=2000)


class DemoteRequest(Strict):
    to: Stage
    reason: str = Field(min_length=3, max_length=2000, description="Why the service steps back; recorded in the audit log.")
