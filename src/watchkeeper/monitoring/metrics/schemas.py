"""Schemas of the metrics room: pushed samples, series and query results, alert rules."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.catalog.schemas import NAME_HELP, NAME_PATTERN
from watchkeeper.durations import Duration
from watchkeeper.monitoring.metrics import language
from watchkeeper.monitoring.schemas import SEVERITIES, http_url, label_names
from watchkeeper.validation import Strict


class MetricSample(Strict):
    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    value: float
    timestamp: dt.datetime | None = Field(None, description="Default: now.")

    _lbl = field_validator("labels")(classmethod(lambda cls, v: label_names(v)))


class MetricPush(Strict):
    samples: list[MetricSample] = Field(max_length=50_000)


class PushResult(BaseModel):
    accepted: int
    series: int


class SeriesRead(BaseModel):
    name: str
    labels: dict[str, str]
    points: list[tuple[float, float]] = Field(description="(unix seconds, value) pairs, oldest first.")


class QueryResult(BaseModel):
    expr: str
    groups: list[dict[str, Any]] = Field(description="One entry per group: labels, value and (for rules) whether it holds.")


# ---------------------------------------------------------------- alert rules


class RuleCreate(Strict):
    """An alert rule: an expression in the rule language (docs/monitoring.md) or PromQL."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=NAME_PATTERN, description=NAME_HELP)
    expr: str = Field(min_length=1, description="e.g. avg(probe_duration_seconds{monitor=\"shop\"}[5m]) > 0.8")
    source: Literal["embedded", "prometheus"] = "embedded"
    prometheus_url: str | None = Field(None, description="Prometheus base URL when source is prometheus.")
    for_: Duration = Field(dt.timedelta(0), alias="for", description="How long the condition must hold before firing.")
    every: Duration = Field(dt.timedelta(seconds=60), description="How often the rule is evaluated.")
    service: str | None = None
    severity: SEVERITIES = "warning"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict, description="summary, description, runbook_url.")
    enabled: bool = True

    _lbl = field_validator("labels")(classmethod(lambda cls, v: label_names(v)))

    @model_validator(mode="after")
    def _expr(self) -> "RuleCreate":
        validate_rule(self.source, self.expr, self.prometheus_url)
        if self.every.total_seconds() < 1:
            raise ValueError("every must be at least 1s")
        return self


def validate_rule(source: str, expr: str, prometheus_url: str | None) -> None:
    if source == "embedded":
        try:
            rule = language.parse(expr)
        except language.RuleSyntaxError as exc:
            raise ValueError(f"expr: {exc}") from None
        if rule.op is None:
            raise ValueError("expr needs a comparison at the end, e.g. '> 0.8', so the rule knows when to fire")
        if prometheus_url:
            raise ValueError("prometheus_url is only used with source: prometheus")
    else:
        if not prometheus_url:
            raise ValueError("source: prometheus needs prometheus_url, e.g. http://prometheus:9090")
        http_url(prometheus_url, "prometheus_url")


class RuleUpdate(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    expr: str | None = None
    source: Literal["embedded", "prometheus"] | None = None
    prometheus_url: str | None = None
    for_: Duration | None = Field(None, alias="for")
    every: Duration | None = None
    service: str | None = None
    severity: SEVERITIES | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    enabled: bool | None = None


class RuleAlertRead(BaseModel):
    labels: dict[str, str]
    state: str
    active_since: dt.datetime
    fired_at: dt.datetime | None
    value: float | None


class RuleRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    expr: str
    source: str
    prometheus_url: str | None
    for_: Duration = Field(alias="for")
    every: Duration
    service: str | None
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    enabled: bool
    managed_by: str
    last_eval_at: dt.datetime | None
    last_error: str | None
    alerts: list[RuleAlertRead] = Field(default_factory=list)

