"""Monitoring schemas: monitors (one nested spec per kind), checks, signals, metrics, rules, SLOs.

The same models validate the API, the CLI and the `monitors:`, `alert_rules:` and `slos:`
sections of watchkeeper.yaml, so a bad value gets the same message everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import zoneinfo
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.catalog.schemas import NAME_HELP, NAME_PATTERN
from watchkeeper.durations import Duration
from watchkeeper.monitoring import _heartbeat, _rules

KINDS = ("http", "tcp", "dns", "tls", "heartbeat", "command", "prometheus", "scrape")
PROBE_KINDS = tuple(k for k in KINDS if k != "heartbeat")
LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
SEVERITIES = Literal["critical", "warning", "info"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _http_url(value: str, field: str = "url") -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{field} {value!r} is not an http(s) URL; write e.g. https://shop.example.com/healthz")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    bad = [k for k in value if not re.match(LABEL_NAME, k)]
    if bad:
        raise ValueError(f"label names {bad} are invalid; use letters, digits and underscores, not starting with a digit")
    return value


# ---------------------------------------------------------------- probe specs


class JsonAssertion(Strict):
    path: str = Field(description="JSONPath into the response body, e.g. $.status or $.checks[0].ok")
    op: Literal["==", "!=", ">", ">=", "<", "<=", "contains", "exists"] = "=="
    value: Any = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        from jsonpath_ng import parse as jp

        try:
            jp(value)
        except Exception as exc:  # noqa: BLE001 - jsonpath_ng raises several types
            raise ValueError(f"JSONPath {value!r} does not parse ({exc}); write e.g. $.status") from None
        return value


class HttpSpec(Strict):
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect_status: list[str] = Field(
        default_factory=lambda: ["2xx", "3xx"], description="Accepted status codes: 200, 2xx, or 200-299."
    )
    body_contains: str | None = None
    body_regex: str | None = None
    json_assertions: list[JsonAssertion] = Field(default_factory=list, alias="json", serialization_alias="json")
    max_latency: Duration | None = Field(None, description="Fail when the response takes longer than this.")
    follow_redirects: bool = True
    verify_tls: bool = True

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))

    @field_validator("expect_status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> list[str]:
        if isinstance(value, (int, str)):
            value = [value]
        out = []
        for item in value or []:
            text = str(item).strip().lower()
            if not re.fullmatch(r"[1-5]xx|[1-5]\d\d(-[1-5]\d\d)?", text):
                raise ValueError(f"status {item!r} is not valid; write 200, 2xx or 200-299")
            out.append(text)
        if not out:
            raise ValueError("expect_status is empty; list at least one status such as 200 or 2xx")
        return out

    @field_validator("body_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"body_regex {value!r} is invalid: {exc}") from None
        return value


class TcpSpec(Strict):
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    send: str | None = Field(None, description="Text to send after connecting.")
    expect: str | None = Field(None, description="Text the first reply must contain.")


DNS_TYPES = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"]


class DnsSpec(Strict):
    name: str = Field(min_length=1, description="The name to resolve.")
    record_type: DNS_TYPES = "A"
    expect: list[str] = Field(default_factory=list, description="Answers that must all be present (empty: any answer).")
    exact: bool = Field(False, description="Fail when answers other than `expect` are returned.")
    resolver: str | None = Field(None, description="host or host:port of the DNS server; default: the system's.")
    protocol: Literal["udp", "tcp"] = "udp"

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
        if port and not port.isdigit():
            raise ValueError(f"resolver {value!r} should be host or host:port, e.g. 1.1.1.1:53")
        return value


class TlsSpec(Strict):
    host: str = Field(min_length=1)
    port: int = Field(443, ge=1, le=65535)
    server_name: str | None = Field(None, description="SNI name; default: host.")
    warn_days: int = Field(21, ge=0, description="Warn when the certificate expires within this many days.")
    fail_days: int = Field(7, ge=0, description="Fail when the certificate expires within this many days.")
    verify: bool = Field(True, description="Also require a trusted chain and a matching name.")

    @model_validator(mode="after")
    def _order(self) -> "TlsSpec":
        if self.fail_days > self.warn_days:
            raise ValueError(f"fail_days {self.fail_days} is above warn_days {self.warn_days}; warn first, then fail")
        return self


class HeartbeatSpec(Strict):
    period: Duration | None = Field(None, description="Expected time between pings, e.g. 1h.")
    cron: str | None = Field(None, description="Or a cron expression for when the job runs, e.g. '0 3 * * *'.")
    timezone: str = "UTC"
    grace: Duration = Field(dt.timedelta(minutes=5), description="How late a ping may be before the monitor is down.")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin or UTC") from None
        return value

    @model_validator(mode="after")
    def _one(self) -> "HeartbeatSpec":
        if (self.period is None) == (self.cron is None):
            raise ValueError("a heartbeat needs exactly one of period (e.g. 1h) or cron (e.g. '0 3 * * *')")
        if self.cron is not None and not _heartbeat.valid_cron(self.cron):
            raise ValueError(f"cron {self.cron!r} is not a valid cron expression; write e.g. '*/15 * * * *'")
        if self.period is not None and self.period.total_seconds() < 1:
            raise ValueError("period must be at least 1s")
        return self


class CommandSpec(Strict):
    command: list[str] = Field(min_length=1, description="Program and arguments (no shell); a string is split like a shell would.")
    expect_exit: list[int] = Field(default_factory=lambda: [0])
    output_contains: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"command {value!r} does not split into words: {exc}") from None
        return value


class PrometheusSpec(Strict):
    url: str = Field(description="Base URL of the Prometheus server, e.g. http://prometheus:9090")
    query: str = Field(min_length=1, description="PromQL instant query.")
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    threshold: float = 0.0
    empty: Literal["down", "up"] = Field("down", description="What an empty result means.")

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class ScrapeSpec(Strict):
    url: str = Field(description="A Prometheus-format /metrics endpoint; its samples go to the metrics store.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels added to every scraped series.")
    verify_tls: bool = True

    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))
    _lbl = field_validator("labels")(classmethod(lambda cls, v: _labels(v)))


SPEC_MODELS: dict[str, type[Strict]] = {
    "http": HttpSpec, "tcp": TcpSpec, "dns": DnsSpec, "tls": TlsSpec, "heartbeat": HeartbeatSpec,
    "command": CommandSpec, "prometheus": PrometheusSpec, "scrape": ScrapeSpec,
}


def parse_spec(kind: str, spec: dict) -> Strict:
    return SPEC_MODELS[kind].model_validate(spec)


# ---------------------------------------------------------------- monitors


class _MonitorFields(Strict):
    description: str | None = None
    service: str | None = Field(None, description="Catalog service this monitor watches.")
    interval: Duration = Field(dt.timedelta(seconds=60), description="Time between checks (not used by heartbeats).")
    timeout: Duration = Field(dt.timedelta(seconds=10), description="Per-check timeout.")
    failures_before_down: int = Field(2, ge=1, le=100, description="Consecutive failures at a location before it says down.")
    locations: list[str] = Field(default_factory=list, description="Probe locations; empty: any one worker.")
    quorum: int | None = Field(None, ge=1, description="Locations that must agree before the monitor is down; default: a majority.")
    labels: dict[str, str] = Field(default_factory=dict)
    severity: SEVERITIES = "critical"
    runbook_url: str | None = None
    enabled: bool = True

    http: HttpSpec | None = None
    tcp: TcpSpec | None = None
    dns: DnsSpec | None = None
    tls: TlsSpec | None = None
    heartbeat: HeartbeatSpec | None = None
    command: CommandSpec | None = None
    prometheus: PrometheusSpec | None = None
    scrape: ScrapeSpec | None = None

    _lbl = field_validator("labels")(classmethod(lambda cls, v: _labels(v)))

    @field_validator("command", mode="before")
    @classmethod
    def _command_shorthand(cls, value: Any) -> Any:
        # `command: ["pg_isready", "-h", "db"]` or `command: "pg_isready -h db"` for the common case
        return {"command": value} if isinstance(value, (str, list)) else value

    @field_validator("locations")
    @classmethod
    def _locations(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(NAME_PATTERN, v)]
        if bad:
            raise ValueError(f"location names {bad} are invalid; use {NAME_HELP}")
        if len(set(value)) != len(value):
            raise ValueError("a location is listed twice; list each once")
        return value

    def given_kinds(self) -> list[str]:
        return [k for k in KINDS if getattr(self, k) is not None]


class MonitorCreate(_MonitorFields):
    """A monitor: common settings plus exactly one of http, tcp, dns, tls, heartbeat, command,
    prometheus or scrape."""

    name: str = Field(pattern=NAME_PATTERN, description=NAME_HELP)

    @model_validator(mode="after")
    def _checks(self) -> "MonitorCreate":
        kinds = self.given_kinds()
        if len(kinds) != 1:
            raise ValueError(
                f"a monitor needs exactly one of {', '.join(KINDS)}; "
                + (f"found {', '.join(kinds)}" if kinds else "found none")
            )
        _check_common(self.interval, self.timeout, self.locations, self.quorum)
        return self

    @property
    def kind(self) -> str:
        return self.given_kinds()[0]

    def spec(self) -> Strict:
        return getattr(self, self.kind)


def _check_common(interval: dt.timedelta, timeout: dt.timedelta, locations: list[str], quorum: int | None) -> None:
    if interval.total_seconds() < 1:
        raise ValueError("interval must be at least 1s")
    if timeout.total_seconds() <= 0:
        raise ValueError("timeout must be longer than 0s")
    if timeout > interval:
        raise ValueError(f"timeout {timeout} is longer than interval {interval}; a check must end before the next is due")
    if quorum is not None and quorum > max(len(locations), 1):
        raise ValueError(f"quorum {quorum} is larger than the {max(len(locations), 1)} location(s) listed")


class MonitorUpdate(Strict):
    """Fields to change; give a kind key (http, tcp, ...) to replace the probe spec."""

    description: str | None = None
    service: str | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    failures_before_down: int | None = Field(None, ge=1, le=100)
    locations: list[str] | None = None
    quorum: int | None = Field(None, ge=1)
    labels: dict[str, str] | None = None
    severity: SEVERITIES | None = None
    runbook_url: str | None = None
    enabled: bool | None = None
    http: HttpSpec | None = None
    tcp: TcpSpec | None = None
    dns: DnsSpec | None = None
    tls: TlsSpec | None = None
    heartbeat: HeartbeatSpec | None = None
    command: CommandSpec | None = None
    prometheus: PrometheusSpec | None = None
    scrape: ScrapeSpec | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _command_shorthand(cls, value: Any) -> Any:
        return {"command": value} if isinstance(value, (str, list)) else value

    @model_validator(mode="after")
    def _one_spec(self) -> "MonitorUpdate":
        kinds = [k for k in KINDS if getattr(self, k) is not None]
        if len(kinds) > 1:
            raise ValueError(f"give at most one probe spec; found {', '.join(kinds)}")
        return self


class LocationRead(BaseModel):
    location: str
    status: str
    consecutive_failures: int
    last_check_at: dt.datetime | None
    last_latency_ms: float | None
    last_error: str | None
    checked_by: str | None


class MonitorRead(BaseModel):
    name: str
    kind: str
    description: str | None
    service: str | None
    interval: Duration
    timeout: Duration
    failures_before_down: int
    locations: list[str]
    quorum: int
    labels: dict[str, str]
    severity: str
    runbook_url: str | None
    enabled: bool
    http: dict | None = None
    tcp: dict | None = None
    dns: dict | None = None
    tls: dict | None = None
    heartbeat: dict | None = None
    command: dict | None = None
    prometheus: dict | None = None
    scrape: dict | None = None
    managed_by: str
    status: str
    status_since: dt.datetime | None
    last_check_at: dt.datetime | None
    last_error: str | None
    warning: str | None
    ping_path: str | None = Field(None, description="Heartbeats: POST or GET here (relative to the public URL) to ping.")
    last_ping_at: dt.datetime | None = None
    deadline_at: dt.datetime | None = None
    location_states: list[LocationRead] = Field(default_factory=list)
    created_at: dt.datetime
    updated_at: dt.datetime


class MonitorFilter(BaseModel):
    service: str | None = None
    status: str | None = None
    kind: str | None = None
    q: str | None = None


class ProbeOutcome(BaseModel):
    """What one check saw (the CLI's `monitor check` prints this)."""

    monitor: str
    kind: str
    location: str
    ok: bool
    status: Literal["up", "down"]
    latency_ms: float | None
    error: str | None = Field(None, description="The failing assertion or the connection error.")
    warning: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    location: str
    slot_ms: int
    checked_at: dt.datetime
    ok: bool
    latency_ms: float | None
    error: str | None
    worker: str | None


class UptimeRead(BaseModel):
    window: str
    checks: int
    up_checks: int
    uptime_percent: float | None
    avg_latency_ms: float | None


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
    source: Literal["probe", "heartbeat", "rule", "slo"] | None = None
    name: str | None = None
    service: str | None = None
    limit: int = Field(100, ge=1, le=1000)


class PingSignal(StrEnum):
    START = "start"
    SUCCESS = "success"
    FAIL = "fail"


class PingResult(BaseModel):
    monitor: str
    signal: PingSignal
    status: str


# ---------------------------------------------------------------- metrics


class MetricSample(Strict):
    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    value: float
    timestamp: dt.datetime | None = Field(None, description="Default: now.")

    _lbl = field_validator("labels")(classmethod(lambda cls, v: _labels(v)))


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

    _lbl = field_validator("labels")(classmethod(lambda cls, v: _labels(v)))

    @model_validator(mode="after")
    def _expr(self) -> "RuleCreate":
        validate_rule(self.source, self.expr, self.prometheus_url)
        if self.every.total_seconds() < 1:
            raise ValueError("every must be at least 1s")
        return self


def validate_rule(source: str, expr: str, prometheus_url: str | None) -> None:
    if source == "embedded":
        try:
            rule = _rules.parse(expr)
        except _rules.RuleSyntaxError as exc:
            raise ValueError(f"expr: {exc}") from None
        if rule.op is None:
            raise ValueError("expr needs a comparison at the end, e.g. '> 0.8', so the rule knows when to fire")
        if prometheus_url:
            raise ValueError("prometheus_url is only used with source: prometheus")
    else:
        if not prometheus_url:
            raise ValueError("source: prometheus needs prometheus_url, e.g. http://prometheus:9090")
        _http_url(prometheus_url, "prometheus_url")


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


# ---------------------------------------------------------------- SLOs


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
                _rules.parse_selector(getattr(s, field))
            except _rules.RuleSyntaxError as exc:
                raise ValueError(f"{field}: {exc}") from None
    if src == "metric":
        try:
            _rules.parse_selector(s.metric)
        except _rules.RuleSyntaxError as exc:
            raise ValueError(f"metric: {exc}") from None
    if src == "prometheus":
        if not (s.prometheus_url and s.good_query and s.total_query):
            raise ValueError("a Prometheus SLO needs prometheus_url, good_query and total_query")
        _http_url(s.prometheus_url, "prometheus_url")
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
