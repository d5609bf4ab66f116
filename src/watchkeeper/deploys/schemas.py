"""Deploy records, gate verdicts, overrides, rollbacks and the `deploys:` section of
watchkeeper.yaml (per-service policies with their hooks, freezes, change windows), as
declared (Create models, subclasses of validation.Strict) and as read."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper import cron
from watchkeeper.catalog.stages import Stage
from watchkeeper.durations import Duration
from watchkeeper.validation import Strict, TimeZone

NAME = r"^[a-z0-9][a-z0-9-]{0,99}$"
ENVIRONMENT = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+:/@-]{0,199}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
DRILL_TARGET = dt.timedelta(minutes=5)
MAX_HOOK_TIMEOUT = dt.timedelta(hours=1)

Arg = Annotated[str, Field(max_length=4096)]


def no_controls(value: str, what: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{what} contains control characters")
    return value


def check_version(value: str) -> str:
    if not _VERSION.match(value):
        raise ValueError(f"version {value[:60]!r} must be 1-200 letters, digits and . _ + : / @ -, e.g. 1.4.2 or 2026.12.07-3")
    return value


def http_url(value: str, what: str = "url") -> str:
    """An http(s) URL with a host, nothing else (no javascript:, file:, ftp:)."""
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{what} contains whitespace or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{what} {value[:60]!r} must be an http(s) URL, e.g. https://ci.example.com/runs/42")
    return value


Version = Annotated[str, Field(min_length=1, max_length=200)]


# ---------------------------------------------------------------------------- deploy records


class TestEvidence(Strict):
    """What CI ran before this deploy: the run's URL, whether it passed, and its counts."""

    __test__ = False  # not a pytest class

    url: str = Field(max_length=2000, description="The CI run, an http(s) URL.")
    status: Literal["passed", "failed"]
    passed: int = Field(0, ge=0, le=100_000_000)
    failed: int = Field(0, ge=0, le=100_000_000)
    skipped: int = Field(0, ge=0, le=100_000_000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value, "tests.url")

    @model_validator(mode="after")
    def _counts(self) -> TestEvidence:
        if self.status == "passed" and self.failed:
            raise ValueError(f"tests.status is passed but tests.failed is {self.failed}; say failed, or fix the counts")
        return self


class RollbackTarget(Strict):
    """Where a rollback returns to: the previous good version and how (a sentence or the hook)."""

    version: Version
    how: str | None = Field(None, max_length=2000, description="How to return to it, e.g. 'helm rollback shop' (default: the rollback hook).")

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)


class DeployStart(Strict):
    """A deploy starting, as CI reports it."""

    service: str = Field(min_length=1, max_length=100)
    version: Version
    environment: str = Field("production", pattern=ENVIRONMENT, description="Where it goes, e.g. production, staging, eu-1.")
    stage: Stage | None = Field(None, description="The stage whose rules apply (default: the service's current stage).")
    commit: str | None = Field(None, description="Git commit (7-64 lowercase hex digits).")
    artifact: str | None = Field(None, max_length=1000, description="Image or package, e.g. registry/shop@sha256:...")
    triggered_by: str | None = Field(None, max_length=200, description="Person or pipeline that started it (default: the caller).")
    tests: TestEvidence | None = Field(None, description="Test evidence; absent means untested.")
    rollback: RollbackTarget | None = Field(None, description="Default: the previous successful deploy and the rollback hook.")

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)

    @field_validator("commit")
    @classmethod
    def _commit(cls, value: str | None) -> str | None:
        if value is not None and not _COMMIT.match(value):
            raise ValueError(f"commit {value[:70]!r} must be 7-64 lowercase hex digits")
        return value

    @field_validator("artifact", "triggered_by")
    @classmethod
    def _plain(cls, value: str | None, info) -> str | None:
        return no_controls(value, info.field_name) if value is not None else None


class DeployFinish(Strict):
    outcome: Literal["succeeded", "failed", "rolled_back", "aborted"]
    reason: str | None = Field(None, max_length=2000)


class DeployRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service: str
    environment: str
    stage: str
    version: str
    commit: str | None
    artifact: str | None
    triggered_by: str
    recorded_by: str
    tests_status: str
    tests_url: str | None
    tests_passed: int | None
    tests_failed: int | None
    tests_skipped: int | None
    rollback_version: str | None
    rollback_how: str | None
    status: str
    gate: str | None
    gate_reasons: list[Any]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    reason: str | None
    rollout: dict[str, Any] | None = None
    rollout_status: str | None = None


# ---------------------------------------------------------------------------- the gate


class GateRequest(Strict):
    """What CI asks: may this version of this service go to this stage now?"""

    service: str = Field(min_length=1, max_length=100)
    version: Version
    stage: Stage | None = Field(None, description="Default: the service's current stage.")
    environment: str = Field("production", pattern=ENVIRONMENT)
    tests: TestEvidence | None = Field(None, description="Default: the evidence recorded with this version's latest deploy.")
    rollback: RollbackTarget | None = Field(None, description="Default: the previous successful deploy and the rollback hook.")

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)


class GateReason(BaseModel):
    rule: str = Field(description="tests, rollback_target, rollback_drilled, freeze, change_window, readiness, slo_budget, incident")
    reason: str


class OverrideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service: str
    version: str
    stage: str
    reason: str
    requested_by: str
    requested_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    expires_at: dt.datetime
    used_at: dt.datetime | None
    active: bool = False


class GateResult(BaseModel):
    service: str
    version: str
    stage: str
    environment: str
    allowed: bool
    exit_code: int = Field(description="0 allowed, 3 refused, 4 refused while an override awaits its second person (docs/deploys.md).")
    reasons: list[GateReason]
    not_checked: list[GateReason] = Field(default_factory=list, description="Rules this installation cannot evaluate yet.")
    override: OverrideRead | None = None
    checked_at: dt.datetime


class OverrideCreate(Strict):
    service: str = Field(min_length=1, max_length=100)
    version: Version
    stage: Stage | None = Field(None, description="Default: the service's current stage.")
    reason: str = Field(min_length=10, max_length=2000, description="Why deploying past the gate is right this time.")
    expires_in: Duration = Field(dt.timedelta(hours=4), description="How long the override stays usable (at most 7d).")

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give a reason")
        return no_controls(value.replace("\n", " "), "reason")

    @model_validator(mode="after")
    def _expiry(self) -> OverrideCreate:
        if not dt.timedelta(minutes=1) <= self.expires_in <= dt.timedelta(days=7):
            raise ValueError("expires_in must be between 1m and 7d")
        return self


# ---------------------------------------------------------------------------- rollbacks and drills


class RollbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service: str
    environment: str
    kind: str
    trigger: str
    status: str
    deploy_id: int | None
    from_version: str | None
    to_version: str | None
    requested_by: str
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    target_seconds: float
    time_to_healthy_seconds: float | None
    legs: list[Any]
    reason: str | None


class RollbackRequest(Strict):
    service: str = Field(min_length=1, max_length=100)
    environment: str = Field("production", pattern=ENVIRONMENT)
    to_version: Version | None = Field(None, description="Default: the rollback target of the deploy running now.")

    @field_validator("to_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        return check_version(value) if value is not None else None


class DrillRequest(Strict):
    service: str = Field(min_length=1, max_length=100)
    environment: str = Field("production", pattern=ENVIRONMENT)


class AbortRequest(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class StepRead(BaseModel):
    idx: int
    weight: int
    status: str
    hook_runs: int
    hook_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    analysis: dict[str, Any]
    reason: str | None


# ---------------------------------------------------------------------------- watchkeeper.yaml: deploys:


class CommandHook(Strict):
    """A program run on the worker's host (argv, no shell). In each argument {service},
    {version}, {from_version}, {environment} and {weight} are replaced; the same values are in
    WK_SERVICE, WK_VERSION, WK_FROM_VERSION, WK_ENVIRONMENT, WK_WEIGHT. Exit 0 is success."""

    command: list[Arg] = Field(min_length=1, max_length=64)
    timeout: Duration = Field(dt.timedelta(minutes=5), description="Stopped and failed after this (at most 1h).")

    @field_validator("command")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        if not value[0]:
            raise ValueError("command[0] must name a program")
        return [no_controls(v, "an argument") for v in value]

    @model_validator(mode="after")
    def _timeout(self) -> CommandHook:
        if not dt.timedelta(seconds=1) <= self.timeout <= MAX_HOOK_TIMEOUT:
            raise ValueError("timeout must be between 1s and 1h")
        return self


class HttpHook(Strict):
    """An HTTP request through the egress policy; the JSON body carries service, version,
    from_version, environment and weight. A 2xx answer is success."""

    url: str = Field(max_length=2000)
    method: Literal["POST", "PUT"] = "POST"
    token_env: str | None = Field(None, pattern=ENV_NAME, description="Environment variable holding a bearer token.")
    timeout: Duration = Field(dt.timedelta(seconds=30))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)

    @model_validator(mode="after")
    def _timeout(self) -> HttpHook:
        if not dt.timedelta(seconds=1) <= self.timeout <= MAX_HOOK_TIMEOUT:
            raise ValueError("timeout must be between 1s and 1h")
        return self


class Hook(Strict):
    """Either `command` or `http`."""

    command: CommandHook | None = None
    http: HttpHook | None = None

    @model_validator(mode="after")
    def _one(self) -> Hook:
        if (self.command is None) == (self.http is None):
            raise ValueError("a hook is either command: or http:, exactly one")
        return self

    def describe(self) -> str:
        if self.command is not None:
            return "command: " + " ".join(self.command.command)[:300]
        return f"http: {self.http.method} {self.http.url}"[:300]


class HealthPolicy(Strict):
    """When the service counts as healthy: every monitor of the service up (its last probe
    passed) and no SLO fast-burning above `max_burn`."""

    target: Duration = Field(DRILL_TARGET, description="Time-to-healthy a rollback must beat (default 5m).")
    timeout: Duration = Field(dt.timedelta(minutes=15), description="Give up waiting for healthy after this.")
    interval: Duration = Field(dt.timedelta(seconds=5), description="How often health is checked while waiting.")
    max_burn: float = Field(14.4, gt=0, le=1000, description="SLO burn rate (short window) above which the service is not healthy.")
    url: str | None = Field(None, max_length=2000, description="Optional http(s) health URL that must answer 2xx.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value, "health.url") if value is not None else None

    @model_validator(mode="after")
    def _bounds(self) -> HealthPolicy:
        if not dt.timedelta(milliseconds=10) <= self.interval <= dt.timedelta(minutes=5):
            raise ValueError("health.interval must be between 10ms and 5m")
        if not dt.timedelta(seconds=1) <= self.timeout <= dt.timedelta(hours=2):
            raise ValueError("health.timeout must be between 1s and 2h")
        if not dt.timedelta(milliseconds=10) <= self.target <= dt.timedelta(hours=2):
            raise ValueError("health.target must be between 10ms and 2h")
        return self


class BudgetPolicy(Strict):
    """The error-budget policy: refuse deploys while any SLO of the service has less than
    `min_remaining` of its budget left (0 = only when exhausted). `enforce: false` only reports."""

    min_remaining: float = Field(0.0, ge=0.0, le=1.0)
    enforce: bool = True
    slos: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50,
                                                              description="Only these SLOs (default: all of the service's).")


class MetricQuery(Strict):
    """A condition that fails the analysis when it holds, written as an alert rule's expression:
    the metrics store's rule language (`max(http_errors{service="shop"}[1m]) > 5`), or PromQL
    sent to `prometheus_url` (any series in the answer holds, as in Prometheus alerting)."""

    expr: str = Field(min_length=1, max_length=2000)
    source: Literal["store", "prometheus"] = "store"
    prometheus_url: str | None = Field(None, max_length=2000)

    @field_validator("prometheus_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value, "prometheus_url") if value is not None else None

    @model_validator(mode="after")
    def _shape(self) -> MetricQuery:
        if self.source == "prometheus":
            if self.prometheus_url is None:
                raise ValueError("a prometheus query needs prometheus_url, e.g. http://prometheus:9090")
        else:
            from watchkeeper.monitoring.metrics import language

            try:
                language.parse(self.expr)
            except language.RuleSyntaxError as exc:
                raise ValueError(str(exc)) from None
            if self.prometheus_url is not None:
                raise ValueError("prometheus_url is for source: prometheus")
        return self


class Analysis(Strict):
    """What a rollout step must show before it proceeds: probes passing, SLO burn below a
    limit, none of the named alert rules firing, none of the metric queries holding."""

    probes: bool = Field(True, description="Every monitor of the service passed its last probe.")
    min_success: float = Field(1.0, ge=0.0, le=1.0, description="Share of analysis samples that must pass.")
    max_burn: float | None = Field(None, gt=0, le=1000, description="SLO short-window burn rate limit.")
    alert_rules: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    queries: list[MetricQuery] = Field(default_factory=list, max_length=20,
                                       description="Metric conditions (metrics store or Prometheus) that fail a sample when they hold.")
    url: str | None = Field(None, max_length=2000, description="Optional http(s) URL sampled during the step; a non-2xx answer fails a sample.")
    samples: int = Field(5, ge=1, le=1000)
    interval: Duration = Field(dt.timedelta(seconds=1))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value, "analysis.url") if value is not None else None


class RolloutStep(Strict):
    weight: int = Field(ge=0, le=100, description="Percent of traffic to the new version.")
    pause: Duration = Field(dt.timedelta(0), description="Wait after setting the weight, before analysis.")
    approval: bool = Field(False, description="Wait for `watchkeeper deploy approve` before this step.")
    analysis: Analysis | None = None


class RolloutPlan(Strict):
    steps: list[RolloutStep] = Field(min_length=1, max_length=20)
    on_crash: Literal["resume", "rollback"] = Field("resume", description="After a worker died mid-rollout: continue, or roll back.")

    @model_validator(mode="after")
    def _last(self) -> RolloutPlan:
        weights = [s.weight for s in self.steps]
        if weights != sorted(weights):
            raise ValueError("rollout weights must not decrease, e.g. 5, 25, 50, 100")
        if weights[-1] != 100:
            raise ValueError("the last rollout step must send 100 % of traffic to the new version")
        return self


class ServiceDeployConfig(Strict):
    """One service's deploy policy."""

    service: str = Field(min_length=1, max_length=100)
    rollback: Hook | None = Field(None, description="Returns the service to {version} (the rollback target).")
    deploy: Hook | None = Field(None, description="Deploys {version} (drills roll forward with it).")
    traffic: Hook | None = Field(None, description="Sends {weight} percent of traffic to {version} (gradual rollouts).")
    health: HealthPolicy = Field(default_factory=HealthPolicy)
    budget: BudgetPolicy = Field(default_factory=BudgetPolicy)
    rollout: RolloutPlan | None = None
    drill_legs: list[Literal["rollback", "forward"]] = Field(["rollback", "forward"], min_length=1, max_length=2,
                                                             description="Which legs a drill runs.")
    repository: str | None = Field(None, max_length=1000,
                                   description="Absolute path of a git clone of the service's code (release notes).")

    @field_validator("repository")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or any(ord(c) < 0x20 for c in value)):
            raise ValueError("repository must be an absolute path without control characters, e.g. /srv/git/shop")
        return value


class FreezeCreate(Strict):
    """A change freeze (`kind: freeze`, no deploys inside it) or a change window (`kind:
    window`: when any window applies to a service, deploys only inside one). For one service,
    one team or, with neither, everything; one-off (`starts_at`) or recurring (`cron`, read as
    Debian's cron reads a crontab line, in `timezone`); each occurrence lasts `duration`."""

    name: str = Field(pattern=NAME)
    kind: Literal["freeze", "window"] = "freeze"
    service: str | None = Field(None, max_length=100)
    team: str | None = Field(None, max_length=100)
    starts_at: dt.datetime | None = Field(None, description="One-off start, with a time zone.")
    cron: str | None = Field(None, max_length=100, description="Recurring start, e.g. '0 16 * * 5' (Fridays 16:00).")
    timezone: TimeZone = "UTC"
    duration: Duration
    until: dt.datetime | None = Field(None, description="No occurrence starts after this.")
    reason: str | None = Field(None, max_length=1000)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cron.check(value)
            except cron.CronInvalid as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _shape(self) -> FreezeCreate:
        if (self.starts_at is None) == (self.cron is None):
            raise ValueError("give starts_at (one-off) or cron (recurring), exactly one")
        if self.service and self.team:
            raise ValueError("a freeze is for a service or a team (or, with neither, everything), not both")
        for field in ("starts_at", "until"):
            value = getattr(self, field)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{field} needs a time zone, e.g. 2026-12-20T00:00:00Z")
        if not dt.timedelta(minutes=1) <= self.duration <= dt.timedelta(days=366):
            raise ValueError("duration must be between 1m and 366d")
        return self


class FreezeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    service: str | None
    team: str | None
    starts_at: dt.datetime | None
    cron: str | None
    timezone: str
    duration_seconds: int
    until: dt.datetime | None
    reason: str | None
    managed_by: str
    active_now: bool = False
    current_end: dt.datetime | None = None
    next_start: dt.datetime | None = None


class PolicyRead(BaseModel):
    service: str
    config: dict[str, Any]
    managed_by: str


class DeploysConfig(Strict):
    """The `deploys:` section: per-service policies, freezes and change windows."""

    services: list[ServiceDeployConfig] = Field(default_factory=list, max_length=10000)
    freezes: list[FreezeCreate] = Field(default_factory=list, max_length=10000)
