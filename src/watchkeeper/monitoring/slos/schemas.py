"""Schemas of SLOs: definitions with one source of good/total events, status with the error
budget and burn rates, and the monthly SLA report."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from watchkeeper.catalog.schemas import NAME_HELP, NAME_PATTERN
from watchkeeper.durations import Duration
from watchkeeper.monitoring.metrics import language
from watchkeeper.monitoring.schemas import http_url
from watchkeeper.validation import Strict


class SloCreate(Strict):
    """An SLO: availability (good/total events) or latency (share of requests under a threshold).

    Sources, one of: `monitor` (probe results); `good` + `total` (metric selectors);
    `metric` + `threshold` (latency samples in seconds); `prometheus_url` + `good_query` +
    `total_query` (PromQL returning event counts for the last minute).
    """

    name: str = Field(pattern=NAME_PATTERN, description=NAME_HELP)
    service: str | None = None
    kind: Literal["availability", "latency"] = "availability"
    target: float = Field(gt=0, lt=100, description="Objective in percent, e.g. 99.9.")
    window: Duration = Field(dt.timedelta(days=30), description="Rolling window, e.g. 30d.")
    description: str | None = None
    alerting: bool = Field(True, description="Generate the multi-window burn-rate alerts.")
    monitor: str | None = None
    good: str | None = Field(None, description="Selector of good events, e.g. http_requests_total{code!~\"5..\"}.")
    total: str | None = Field(None, description="Selector of all events.")
    counters: bool = Field(False, description="good/total are cumulative counters (use their increase).")
    metric: str | None = Field(None, description="Latency samples in seconds, e.g. api_latency_seconds{route=\"/pay\"}.")
    threshold: Duration | None = Field(None, description="Latency SLOs: a request is good when faster than this.")
    prometheus_url: str | None = None
    good_query: str | None = None
    total_query: str | None = None

    @model_validator(mode="after")
    def _source(self) -> "SloCreate":
        validate_slo_source(self)
        return self

    def source_dict(self) -> dict:
        keys = ("monitor", "good", "total", "counters", "metric", "threshold", "prometheus_url", "good_query", "total_query")
        return {k: v for k, v in self.model_dump(mode="json", include=set(keys)).items() if v not in (None, False)}


def validate_slo_source(s: Any) -> None:
    if s.window < dt.timedelta(hours=1):
        raise ValueError("window must be at least 1h (30d is usual)")
    sources = [
        name for name, given in (
            ("monitor", s.monitor is not None),
            ("good/total", s.good is not None or s.total is not None),
            ("metric", s.metric is not None),
            ("prometheus", s.prometheus_url is not None or s.good_query is not None or s.total_query is not None),
        ) if given
    ]
    if len(sources) != 1:
        raise ValueError(
            "an SLO needs exactly one source: monitor, good + total, metric + threshold, or prometheus_url + good_query + total_query"
            + (f"; found {', '.join(sources)}" if sources else "")
        )
    src = sources[0]
    if src == "good/total":
        if s.good is None or s.total is None:
            raise ValueError("give both good and total selectors")
        for field in ("good", "total"):
            try:
                language.parse_selector(getattr(s, field))
            except language.RuleSyntaxError as exc:
                raise ValueError(f"{field}: {exc}") from None
    if src == "metric":
        try:
            language.parse_selector(s.metric)
        except language.RuleSyntaxError as exc:
            raise ValueError(f"metric: {exc}") from None
    if src == "prometheus":
        if not (s.prometheus_url and s.good_query and s.total_query):
            raise ValueError("a Prometheus SLO needs prometheus_url, good_query and total_query")
        http_url(s.prometheus_url, "prometheus_url")
    if s.kind == "latency":
        if src not in ("monitor", "metric"):
            raise ValueError("a latency SLO reads latencies from a monitor or from metric; good/total and prometheus are availability sources")
        if s.threshold is None:
            raise ValueError("a latency SLO needs threshold, e.g. 300ms")
    elif s.threshold is not None or src == "metric":
        raise ValueError("threshold and metric are for latency SLOs; set kind: latency")


class SloUpdate(Strict):
    target: float | None = Field(None, gt=0, lt=100)
    window: Duration | None = None
    description: str | None = None
    alerting: bool | None = None
    service: str | None = None


class BurnRead(BaseModel):
    alert: str
    severity: str
    factor: float
    long_window: Duration
    short_window: Duration
    burn_long: float | None
    burn_short: float | None
    firing: bool


class SloRead(BaseModel):
    name: str
    service: str | None
    kind: str
    target: float
    window: Duration
    description: str | None
    alerting: bool
    monitor: str | None = None
    good: str | None = None
    total: str | None = None
    counters: bool = False
    metric: str | None = None
    threshold: Duration | None = None
    prometheus_url: str | None = None
    good_query: str | None = None
    total_query: str | None = None
    managed_by: str
    last_error: str | None = None


class SloStatus(BaseModel):
    slo: SloRead
    good: float
    total: float
    attainment_percent: float | None
    budget_remaining: float | None = Field(description="Share of the window's error budget left (1 = untouched, < 0 = overspent).")
    burn: list[BurnRead]
    evaluated_until: dt.datetime | None


class SlaRow(BaseModel):
    service: str
    month: str
    sla_target: float | None
    slo_target: float | None
    attainment_percent: float | None
    met: bool | None
    source: str
    good: float
    total: float


class SlaReport(BaseModel):
    month: str
    rows: list[SlaRow]
