"""Schemas of monitors: the common settings plus one probe spec (probes/kinds/), their state
per location, check results, uptime and heartbeat pings."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper.catalog.schemas import NAME_HELP, NAME_PATTERN
from watchkeeper.durations import Duration
from watchkeeper.monitoring.probes import kinds
from watchkeeper.monitoring.probes.kinds import (
    CommandSpec, DnsSpec, HeartbeatSpec, HttpSpec, ProbeSpec, PrometheusSpec, ScrapeSpec, TcpSpec, TlsSpec,
)
from watchkeeper.monitoring.schemas import SEVERITIES, label_names
from watchkeeper.validation import Link, Strict

KINDS = tuple(kinds.KINDS)
PROBE_KINDS = tuple(name for name, kind in kinds.KINDS.items() if kind.probe is not None)


class _KindSpecs(Strict):
    """What a monitor checks: one spec per probe kind, each declared beside its probe (kinds/)."""

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
        # `command: ["pg_isready", "-h", "db"]` or `command: "pg_isready -h db"` for the common case
        return {"command": value} if isinstance(value, (str, list)) else value

    def given_kinds(self) -> list[str]:
        return [k for k in KINDS if getattr(self, k) is not None]


class _MonitorFields(_KindSpecs):
    description: str | None = None
    service: str | None = Field(None, description="Catalog service this monitor watches.")
    interval: Duration = Field(dt.timedelta(seconds=60), description="Time between checks (not used by heartbeats).")
    timeout: Duration = Field(dt.timedelta(seconds=10), description="Per-check timeout.")
    failures_before_down: int = Field(2, ge=1, le=100, description="Consecutive failures at a location before it says down.")
    locations: list[str] = Field(default_factory=list, description="Probe locations; empty: any one worker.")
    quorum: int | None = Field(None, ge=1, description="Locations that must agree before the monitor is down; default: a majority.")
    labels: dict[str, str] = Field(default_factory=dict)
    severity: SEVERITIES = "critical"
    runbook_url: Link | None = Field(None, max_length=500, description="A runbook link: an http(s) URL or a relative path.")
    enabled: bool = True

    _lbl = field_validator("labels")(classmethod(lambda cls, v: label_names(v)))

    @field_validator("locations")
    @classmethod
    def _locations(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(NAME_PATTERN, v)]
        if bad:
            raise ValueError(f"location names {bad} are invalid; use {NAME_HELP}")
        if len(set(value)) != len(value):
            raise ValueError("a location is listed twice; list each once")
        return value

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
        check_common(self.interval, self.timeout, self.locations, self.quorum)
        return self

    @property
    def kind(self) -> str:
        return self.given_kinds()[0]

    def spec(self) -> ProbeSpec:
        return getattr(self, self.kind)


def default_quorum(locations: list[str]) -> int:
    """Majority of the listed locations (1 when checked from anywhere)."""
    return len(locations) // 2 + 1 if locations else 1


def check_common(interval: dt.timedelta, timeout: dt.timedelta, locations: list[str], quorum: int | None) -> None:
    if interval.total_seconds() < 1:
        raise ValueError("interval must be at least 1s")
    if timeout.total_seconds() <= 0:
        raise ValueError("timeout must be longer than 0s")
    if timeout > interval:
        raise ValueError(f"timeout {timeout} is longer than interval {interval}; a check must end before the next is due")
    if quorum is not None and quorum > max(len(locations), 1):
        raise ValueError(f"quorum {quorum} is larger than the {max(len(locations), 1)} location(s) listed")


class MonitorUpdate(_KindSpecs):
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
    runbook_url: Link | None = Field(None, max_length=500, description="A runbook link: an http(s) URL or a relative path.")
    enabled: bool | None = None
    @model_validator(mode="after")
    def _one_spec(self) -> "MonitorUpdate":
        kinds = self.given_kinds()
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

class PingSignal(StrEnum):
    START = "start"
    SUCCESS = "success"
    FAIL = "fail"


class PingResult(BaseModel):
    monitor: str
    signal: PingSignal
    status: str

