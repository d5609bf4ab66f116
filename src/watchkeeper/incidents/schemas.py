"""Incident inputs (Strict: unknown fields refused) and reads, and the `incidents:` section of
watchkeeper.yaml."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.durations import Duration
from watchkeeper.validation import Link, Strict, TimeZone

SEVERITY_NAMES = ("SEV1", "SEV2", "SEV3", "SEV4")
HANDLE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"
SERVICE = r"^[a-z0-9][a-z0-9-]{0,99}$"
MAX_MARKDOWN = 20_000


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    MERGED = "merged"  # reached only by merge_incidents


OPEN = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)


class Role(StrEnum):
    COMMANDER = "commander"
    COMMUNICATIONS = "communications"
    SCRIBE = "scribe"


class Visibility(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


# ---------------------------------------------------------------------------- watchkeeper.yaml


class SeverityConfig(Strict):
    """What a severity means, whether declaring it pages, and its response targets."""

    name: Literal["SEV1", "SEV2", "SEV3", "SEV4"]
    description: str = Field(min_length=1, max_length=500, description="What this severity means, e.g. 'Checkout down for everyone'.")
    page: bool = Field(False, description="Declaring (or raising to) this severity pages the service's on-call.")
    ack_within: Duration = Field(dt.timedelta(minutes=15), description="Acknowledge target, e.g. 5m.")
    resolve_within: Duration = Field(dt.timedelta(hours=24), description="Resolve target, e.g. 4h.")

    @model_validator(mode="after")
    def _positive(self) -> SeverityConfig:
        if self.ack_within <= dt.timedelta(0) or self.resolve_within <= dt.timedelta(0):
            raise ValueError("ack_within and resolve_within must be positive, e.g. 5m")
        return self


DEFAULT_SEVERITIES = (
    SeverityConfig(name="SEV1", description="Critical: a customer-facing service is down or losing data", page=True,
                   ack_within=dt.timedelta(minutes=5), resolve_within=dt.timedelta(hours=4)),
    SeverityConfig(name="SEV2", description="Major: significant degradation for many customers", page=True,
                   ack_within=dt.timedelta(minutes=15), resolve_within=dt.timedelta(hours=8)),
    SeverityConfig(name="SEV3", description="Minor: limited impact, a workaround exists",
                   ack_within=dt.timedelta(hours=1), resolve_within=dt.timedelta(days=3)),
    SeverityConfig(name="SEV4", description="Low: no customer impact yet",
                   ack_within=dt.timedelta(hours=8), resolve_within=dt.timedelta(days=14)),
)


class PolicyConfig(Strict):
    """Declare an incident automatically from firing alerts. Either a single alert matches
    (`alert_severity`, `tiers`, `stages`), or — with `services_firing` — at least that many
    distinct services (filtered the same way) start firing within `within`."""

    name: str = Field(pattern=SERVICE, description="Unique name, e.g. critical-tier1-prod.")
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"]
    alert_severity: list[str] = Field(default_factory=lambda: ["critical"], max_length=10,
                                      description="Alert `severity` labels that count (empty: any).")
    tiers: list[int] = Field(default_factory=list, max_length=3, description="Service tiers that count (empty: any), e.g. [1].")
    stages: list[Literal["POC", "MVP", "MMP", "PROD"]] = Field(default_factory=list, description="Service stages that count (empty: any).")
    services_firing: int | None = Field(None, ge=2, le=100, description="Declare when this many services fire within `within`.")
    within: Duration = Field(dt.timedelta(minutes=10), description="Window for services_firing, e.g. 10m.")
    dependency_chain: bool = Field(False, description="With services_firing: count only services connected to the "
                                                       "newest alert's service through depends_on (one dependency chain).")

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[int]) -> list[int]:
        if any(t not in (1, 2, 3) for t in value):
            raise ValueError("tiers are 1, 2 or 3")
        return value


class StatusPageConfig(Strict):
    title: str = Field("Service status", min_length=1, max_length=100)
    logo_url: Link | None = Field(None, description="An http(s) image URL shown beside the title.")
    services: list[str] = Field(default_factory=list, max_length=200,
                                description="Services shown as components (all others are private).")

    @field_validator("services")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        import re

        bad = [v for v in value if not re.match(SERVICE, v)]
        if bad:
            raise ValueError(f"not a service name: {bad[0]!r}")
        return value


class ProcessDocument(Strict):
    """An attestation that the incident process is written down and was reviewed (until the
    runbooks domain tracks documents)."""

    url: Link
    reviewed_at: dt.date
    reviewed_by: str = Field(pattern=HANDLE)


class PostmortemConfig(Strict):
    required_for: list[Literal["SEV1", "SEV2", "SEV3", "SEV4"]] = Field(default_factory=lambda: ["SEV1", "SEV2"])
    due_within: Duration = Field(dt.timedelta(days=5), description="A required postmortem is overdue this long after resolve.")
    verify_after: Duration = Field(dt.timedelta(days=30), description="An action item is verified after this long without recurrence.")


class NotifyConfig(Strict):
    """Internal subscribers: alerting receivers (by name) told of every incident declared, status
    change and status update; and the weekly review email."""

    receivers: list[str] = Field(default_factory=list, max_length=20, description="Receivers told of incident changes.")
    review_receivers: list[str] = Field(default_factory=list, max_length=20,
                                        description="Receivers sent the weekly review every Monday at 09:00 in review_timezone.")
    review_timezone: TimeZone = Field("UTC", description="The zone whose Monday starts the reviewed week.")


class IncidentsConfig(Strict):
    """The `incidents:` section of watchkeeper.yaml."""

    severities: list[SeverityConfig] = Field(default_factory=list, description="SEV1–SEV4 definitions; omitted ones use the defaults.")
    policies: list[PolicyConfig] = Field(default_factory=list, max_length=100)
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)
    process_document: ProcessDocument | None = None
    postmortems: PostmortemConfig = Field(default_factory=PostmortemConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)

    @model_validator(mode="after")
    def _unique(self) -> IncidentsConfig:
        for what, names in (("severities", [s.name for s in self.severities]), ("policies", [p.name for p in self.policies])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} {dupes} are declared twice; keep one")
        return self


# ---------------------------------------------------------------------------- inputs


class IncidentCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] = "SEV3"
    services: list[str] = Field(min_length=1, max_length=20)
    impact: str | None = Field(None, max_length=MAX_MARKDOWN)
    customer_facing: bool = False
    commander: str | None = Field(None, pattern=HANDLE)
    started_at: dt.datetime | None = None

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        import re

        bad = [v for v in value if not re.match(SERVICE, v)]
        if bad:
            raise ValueError(f"not a service name: {bad[0]!r}")
        return list(dict.fromkeys(value))

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("started_at needs a time zone, e.g. 2026-03-07T02:00:00Z")
        return value


class IncidentUpdate(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] | None = None
    impact: str | None = Field(None, max_length=MAX_MARKDOWN)
    customer_facing: bool | None = None


class StatusChange(Strict):
    status: Status
    message: str | None = Field(None, max_length=MAX_MARKDOWN, description="Markdown shown on the timeline.")
    visibility: Visibility = Visibility.INTERNAL


class StatusUpdate(Strict):
    """A message to stakeholders: public ones appear on /status."""

    message: str = Field(min_length=1, max_length=MAX_MARKDOWN)
    visibility: Visibility = Visibility.INTERNAL
    status: Status | None = None


class NoteCreate(Strict):
    text: str = Field(min_length=1, max_length=MAX_MARKDOWN)


class RoleAssign(Strict):
    role: Role
    person: str | None = Field(None, pattern=HANDLE, description="Handle or username; empty to clear.")


class AlertAttach(Strict):
    fingerprint: str = Field(min_length=1, max_length=32)


class IncidentFilter(BaseModel):
    status: Literal["open", "closed", "all"] = "open"
    service: str | None = Field(None, max_length=100)
    team: str | None = Field(None, max_length=100)
    severity: str | None = Field(None, max_length=8)
    drills: bool = True
    limit: int = Field(200, ge=1, le=1000)


# ---------------------------------------------------------------------------- reads


class AlertLinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    alert_id: int | None
    fingerprint: str
    alertname: str
    service: str | None
    linked_at: dt.datetime


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    at: dt.datetime
    kind: str
    actor: str | None
    summary: str
    body: str | None
    visibility: str
    link: str | None
    details: dict[str, Any]


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    severity: str
    status: Status
    team: str
    services: list[str]
    impact: str | None
    customer_facing: bool
    source: str
    policy: str | None
    drill: bool
    commander: str | None
    communications: str | None
    scribe: str | None
    started_at: dt.datetime
    detected_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    mitigated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    merged_into_id: int | None
    created_by: str
    updated_at: dt.datetime
    alerts: list[AlertLinkRead] = Field(default_factory=list)
    merged: list[int] = Field(default_factory=list, description="Incidents merged into this one.")
    allowed_next: list[Status] = Field(default_factory=list)


class IncidentDetail(IncidentRead):
    timeline: list[EntryRead] = Field(default_factory=list)


# ---------------------------------------------------------------------------- postmortems


class PostmortemUpdate(Strict):
    summary: str | None = Field(None, max_length=MAX_MARKDOWN)
    impact: str | None = Field(None, max_length=MAX_MARKDOWN)
    root_cause: str | None = Field(None, max_length=MAX_MARKDOWN)
    contributing_factors: str | None = Field(None, max_length=MAX_MARKDOWN)
    went_well: str | None = Field(None, max_length=MAX_MARKDOWN)


class ActionItemCreate(Strict):
    title: str = Field(min_length=1, max_length=300)
    owner: str | None = Field(None, pattern=HANDLE)
    due_at: dt.datetime | None = None
    tracker_url: Link | None = None


class ActionItemUpdate(Strict):
    status: Literal["open", "done"] | None = None
    owner: str | None = Field(None, pattern=HANDLE)
    due_at: dt.datetime | None = None
    tracker_url: Link | None = None
    change_ref: str | None = Field(None, min_length=1, max_length=200,
                                   description="The deploy or change record that fixed it, e.g. deploy:42 or CHG-1234.")


class ActionItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    title: str
    owner: str | None
    due_at: dt.datetime | None
    status: str
    tracker_url: str | None
    change_ref: str | None
    done_at: dt.datetime | None
    verified_at: dt.datetime | None
    recurrence_id: int | None
    created_at: dt.datetime
    overdue: bool = False


class PostmortemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    incident_id: int
    status: str
    summary: str | None
    impact: str | None
    root_cause: str | None
    contributing_factors: str | None
    went_well: str | None
    due_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None
    overdue: bool = False
    action_items: list[ActionItemRead] = Field(default_factory=list)
    timeline_markdown: str = ""
