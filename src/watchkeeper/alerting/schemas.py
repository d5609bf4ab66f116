"""Pydantic shapes of the alert pipeline: ingest payloads, read models, requests, config."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.labels import LABEL_NAME, parse_matcher
from watchkeeper.durations import Duration
from watchkeeper.notify.schemas import ChannelConfig, RetryPolicy
from watchkeeper.validation import Strict


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertState(StrEnum):
    ACTIVE = "active"
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    MAINTENANCE = "maintenance"


class Quality(StrEnum):
    ACTIONABLE = "actionable"
    NOISE = "noise"


def _check_labels(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if not LABEL_NAME.match(key):
            raise ValueError(f"label name {key!r} is invalid; use letters, digits and _ (not starting with a digit)")
        if not isinstance(item, str):
            raise ValueError(f"label {key!r} must be text")
    return value


def check_labels(value: dict[str, str]) -> dict[str, str]:
    """Every rule an alert's labels must follow (names, text values, an alertname, at most 64)."""
    _check_labels(value)
    if not value.get("alertname"):
        raise ValueError("labels need an 'alertname'")
    if len(value) > 64:
        raise ValueError("at most 64 labels per alert")
    return value


# ---------------------------------------------------------------- ingest


class AlertIn(Strict):
    """One alert as the generic JSON API takes it (Alertmanager's field names also work)."""

    model_config = ConfigDict(populate_by_name=True)

    labels: dict[str, str] = Field(description="Identifying labels; must include alertname. Their hash is the fingerprint.")
    annotations: dict[str, str] = Field(default_factory=dict, description="summary, description, runbook_url, ...")
    status: AlertStatus | None = Field(None, description="firing or resolved; default: resolved when ends_at is past, else firing.")
    starts_at: dt.datetime | None = Field(None, alias="startsAt")
    ends_at: dt.datetime | None = Field(None, alias="endsAt")
    generator_url: str | None = Field(None, alias="generatorURL", max_length=2000)

    _labels = field_validator("labels")(classmethod(lambda cls, v: _check_labels(v)))

    @field_validator("labels")
    @classmethod
    def _alertname(cls, value: dict[str, str]) -> dict[str, str]:
        if not value.get("alertname"):
            raise ValueError("labels need an 'alertname'")
        if len(value) > 64:
            raise ValueError("at most 64 labels per alert")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps need a time zone, e.g. 2026-03-02T09:00:00Z")
        return value


class GenericBatch(Strict):
    alerts: list[AlertIn] = Field(min_length=1, max_length=5000)


class IngestResult(BaseModel):
    received: int
    created: int
    fired_again: int
    resolved: int
    updated: int
    unchanged: int
    suppressed: int


# ---------------------------------------------------------------- reads


class AlertEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    kind: str
    actor: str | None
    detail: dict[str, Any] | None


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    fingerprint: str
    alertname: str
    status: AlertStatus
    state: AlertState
    state_reason: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    source: str
    service: str | None
    severity: str | None
    generator_url: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    first_seen_at: dt.datetime
    last_received_at: dt.datetime
    receive_count: int
    fired_count: int
    acked_at: dt.datetime | None
    acked_by: str | None
    quality: Quality | None
    drill_id: int | None


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    route_path: str
    receiver: str
    group_labels: dict[str, str]
    service: str | None
    next_flush_at: dt.datetime | None
    last_notified_at: dt.datetime | None
    notify_seq: int
    last_error: str | None


class AlertFilter(BaseModel):
    status: AlertStatus | None = None
    state: AlertState | None = None
    service: str | None = None
    alertname: str | None = None
    q: str | None = Field(None, description="Substring of the alert name.")
    limit: int = Field(200, ge=1, le=2000)


class ActionRequest(Strict):
    note: str | None = Field(None, max_length=2000)


class MarkRequest(Strict):
    quality: Quality
    note: str | None = Field(None, max_length=2000)


class RouteExplain(BaseModel):
    labels: dict[str, str]
    fingerprint: str
    service: str | None
    routes: list[dict[str, Any]]
    suppressed: str | None


class QualityRow(BaseModel):
    alertname: str
    fired: int
    acted_on: int
    noise: int
    unrated: int
    action_rate: float | None


# ---------------------------------------------------------------- silences


class SilenceCreate(Strict):
    matchers: list[str] = Field(min_length=1, description='Label matchers, e.g. service="checkout", severity=~"warn|info".')
    starts_at: dt.datetime | None = Field(None, description="Default: now.")
    ends_at: dt.datetime | None = Field(None, description="Give ends_at or duration.")
    duration: Duration | None = Field(None, description="e.g. 2h; alternative to ends_at.")
    comment: str = Field(min_length=3, max_length=2000, description="Why; shown to everyone who sees the silenced alerts.")

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        return [str(parse_matcher(v)) for v in value]

    @model_validator(mode="after")
    def _end(self) -> "SilenceCreate":
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give exactly one of ends_at or duration (e.g. duration: 2h)")
        return self


class SilenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    matchers: list[str]
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str
    created_at: dt.datetime
    expired_by: str | None
    state: Literal["pending", "active", "expired"] = "active"
    matching_firing: int = 0


# ---------------------------------------------------------------- drills


class DrillCreate(Strict):
    service: str
    deadline: Duration = Field(dt.timedelta(minutes=15), description="How long a person has to acknowledge.")


class DrillRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service: str
    fingerprint: str
    status: Literal["pending", "passed", "failed"]
    receivers: list[str]
    started_at: dt.datetime
    deadline_at: dt.datetime
    started_by: str
    acked_at: dt.datetime | None
    acked_by: str | None


# ---------------------------------------------------------------- config (watchkeeper.yaml `alerting:`)


def _matcher_list(value: list[str]) -> list[str]:
    out = []
    for i, text in enumerate(value):
        try:
            out.append(str(parse_matcher(text)))
        except ValueError as exc:
            raise ValueError(f"matchers[{i}]: {exc}") from None
    return out


POLICY_RECEIVER = re.compile(r"^policy:[a-z0-9][a-z0-9-]{0,62}$")
SERVICE_DEFAULT = "service-default"


def is_policy_receiver(name: str) -> bool:
    """A route's receiver that names an escalation policy: `policy:NAME`, or `service-default`
    (the policy of the alert's service). Receiver names cannot contain ':' and may not be
    `service-default`, so the two never collide."""
    return name == SERVICE_DEFAULT or bool(POLICY_RECEIVER.match(name))


class ReceiverConfig(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$", description="Name routes refer to.")
    channels: list[ChannelConfig] = Field(min_length=1, description="Where messages go: email, webhook and chat channels.")

    @field_validator("name")
    @classmethod
    def _reserved(cls, value: str) -> str:
        if value == SERVICE_DEFAULT:
            raise ValueError("'service-default' is reserved: a route with receiver service-default pages the service's "
                             "escalation policy; name the receiver otherwise")
        return value


class RouteConfig(Strict):
    """A node of the route tree. Unset fields inherit from the parent."""

    model_config = ConfigDict(populate_by_name=True)

    receiver: str | None = Field(None, description="A receiver's name; or `policy:NAME` to page people through that "
                                 "escalation policy; or `service-default` for the policy of the alert's service.")
    matchers: list[str] = Field(default_factory=list, description='Label matchers, e.g. severity="critical".')
    group_by: list[str] | None = Field(None, description="Labels that split alerts into groups (service is always one); '...' = all labels.")
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    send_resolved: bool | None = None
    continue_: bool = Field(False, alias="continue", description="Keep matching later siblings after this route matched.")
    routes: list[RouteConfig] = Field(default_factory=list)

    _m = field_validator("matchers")(classmethod(lambda cls, v: _matcher_list(v)))

    def receivers_by_path(self, path: str = "route") -> list[tuple[str, str]]:
        out = [(f"{path}.receiver", self.receiver)] if self.receiver else []
        for i, child in enumerate(self.routes):
            out.extend(child.receivers_by_path(f"{path}.routes[{i}]"))
        return out

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class InhibitRuleConfig(Strict):
    """While an alert matching source_matchers fires, alerts matching target_matchers whose
    `equal` labels have the same values are inhibited."""

    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)

    _s = field_validator("source_matchers", "target_matchers")(classmethod(lambda cls, v: _matcher_list(v)))


class AlertingConfig(Strict):
    """The `alerting:` section of watchkeeper.yaml."""

    receivers: list[ReceiverConfig] = Field(default_factory=list)
    route: RouteConfig = Field(default_factory=RouteConfig, description="The root of the route tree (the default route).")
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    dependency_inhibition: bool = Field(True, description="Inhibit dependents' alerts while a dependency has a critical alert firing.")
    delivery: RetryPolicy = Field(default_factory=RetryPolicy, description="Notification retries: max_attempts, backoff_base, backoff_max.")

    @model_validator(mode="after")
    def _references(self) -> "AlertingConfig":
        names = [r.name for r in self.receivers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"receivers {dupes} are declared twice; rename or remove one")
        for where, name in self.route.receivers_by_path():
            if is_policy_receiver(name):
                continue  # an escalation policy (oncall.policies); checked when a group pages
            if name.startswith("policy:"):
                raise ValueError(f"{where}: '{name}' is not a policy reference; write policy:NAME with the policy's name")
            if name not in names:
                known = ", ".join(names) or "none (add them under alerting.receivers)"
                raise ValueError(f"{where}: unknown receiver '{name}'; defined receivers are: {known}")
        if self.receivers and not self.route.receiver:
            raise ValueError("route.receiver: the root route needs a receiver (the default for unmatched alerts)")
        return self


class ReceiverRead(BaseModel):
    name: str
    channels: list[dict[str, Any]]
    managed_by: str
