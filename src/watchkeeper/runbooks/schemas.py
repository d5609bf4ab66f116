"""The `runbooks:` section of watchkeeper.yaml, a document's front matter, and what the
service returns (Read models, the review and step-run records, lint findings).

Front matter (YAML between `---` lines at the top of each Markdown file):

    title: Checkout is down            (required)
    services: [checkout]               catalog services the document is about
    alerts: [CheckoutDown, '{alertname="SLOErrorBudgetBurn", slo="checkout-availability"}']
    kind: runbook                      runbook | incident-process | deploy-procedure | rollback-procedure | dr-plan | other
    owners: [alice]                    people handles; reminded before the review expires
    reviewers: [bob]                   who may review it (empty: anyone permitted but its last author)
    last_reviewed: {date: 2026-11-02, by: bob}
    review_every: 90d                  default: the section's review_every
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from watchkeeper import durations, labels
from watchkeeper.durations import Duration
from watchkeeper.validation import Strict, link_problem

KINDS = ("runbook", "incident-process", "deploy-procedure", "rollback-procedure", "dr-plan", "other")
Kind = Literal["runbook", "incident-process", "deploy-procedure", "rollback-procedure", "dr-plan", "other"]
HANDLE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"
Handle = Annotated[str, Field(pattern=HANDLE, max_length=100)]
ServiceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
ALERTNAME = re.compile(r"^[A-Za-z0-9_:][A-Za-z0-9_:.-]{0,199}$")
RUNNER_NAME = r"^[a-z][a-z0-9_-]{0,31}$"
STEP_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MIN_CADENCE, MAX_CADENCE = dt.timedelta(days=1), dt.timedelta(days=730)
MAX_STEP_TIMEOUT = dt.timedelta(hours=1)
MAX_OUTPUT_LIMIT = 1024 * 1024


def parse_alert(entry: str) -> tuple[str | None, tuple[labels.Matcher, ...]]:
    """An `alerts:` entry: a bare alertname (`CheckoutDown`) or a matcher set
    (`{alertname="SLOErrorBudgetBurn", slo=~"checkout-.*"}`, RE2 regexes). ValueError says what to write."""
    text = entry.strip()
    if ALERTNAME.match(text):
        return text, ()
    if not any(op in text for op in ("=", "!=")):
        raise ValueError(f"alert {entry[:80]!r} is neither an alertname (letters, digits, _ : . -) nor a matcher set "
                         'like {alertname="X", service="y"}')
    matchers = labels.parse_matchers(labels.split_matchers(text))
    if not matchers:
        raise ValueError(f"alert {entry[:80]!r} has no matchers")
    return None, matchers


def alert_matches(entry: str, alert_labels: dict[str, str]) -> bool:
    """Whether one `alerts:` entry covers an alert with these labels (an unparsable one: never)."""
    try:
        name, matchers = parse_alert(entry)
    except ValueError:
        return False
    if name is not None:
        return alert_labels.get("alertname") == name
    return labels.matches_all(matchers, alert_labels)


def _cadence(value: dt.timedelta) -> dt.timedelta:
    if not MIN_CADENCE <= value <= MAX_CADENCE:
        raise ValueError(f"review_every must be between 1d and 730d (got {durations.format(value)})")
    return value


class LastReviewed(Strict):
    date: dt.date = Field(description="When it was last reviewed, YYYY-MM-DD.")
    by: Handle = Field(description="Who reviewed it (a person handle).")


class FrontMatter(Strict):
    """A document's front matter (see the module docstring)."""

    title: str = Field(min_length=1, max_length=200)
    services: list[ServiceName] = Field(default_factory=list, max_length=50)
    alerts: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(default_factory=list, max_length=100)
    kind: Kind = "runbook"
    owners: list[Handle] = Field(default_factory=list, max_length=20)
    reviewers: list[Handle] = Field(default_factory=list, max_length=20)
    last_reviewed: LastReviewed | None = None
    review_every: Duration | None = None

    @field_validator("alerts")
    @classmethod
    def _alerts(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_alert(entry)
        return value

    @field_validator("review_every")
    @classmethod
    def _review_every(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        return None if value is None else _cadence(value)


# ---------------------------------------------------------------------------- watchkeeper.yaml


class ShellRunner(Strict):
    """Runs a step's text with `argv` (the text is the last argument) on the worker host, in
    `cwd`, with only the environment variables named in `env` passed through."""

    name: str = Field(pattern=RUNNER_NAME, description="What a step's fence names: ```sh {step=x}``` uses runner `sh`.")
    kind: Literal["shell"] = "shell"
    argv: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=lambda: ["/bin/sh", "-c"], min_length=1, max_length=10,
        description="The interpreter and its flags; the step's text is appended as the last argument.")
    cwd: str | None = Field(None, max_length=1024, description="Working directory (default: the runbooks folder).")
    env: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]] = Field(
        default_factory=list, max_length=50, description="Environment variables passed through by name (values never stored).")
    timeout: Duration = Field(dt.timedelta(seconds=60), description="A step running longer is killed (at most 1h).")
    max_output: int = Field(64 * 1024, ge=1024, le=MAX_OUTPUT_LIMIT, description="Bytes of output kept; the rest is cut.")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=1) <= value <= MAX_STEP_TIMEOUT:
            raise ValueError("timeout must be between 1s and 1h")
        return value


class HttpRunner(Strict):
    """Sends a step's request (`METHOD URL` on the first line, optional body after a blank line)
    through the egress policy, only to URLs starting with one of `allow_urls`."""

    name: str = Field(pattern=RUNNER_NAME)
    kind: Literal["http"] = "http"
    allow_urls: list[Annotated[str, Field(min_length=8, max_length=500)]] = Field(
        min_length=1, max_length=50, description="URL prefixes a step may call, e.g. https://deploy.example.com/api/.")
    timeout: Duration = Field(dt.timedelta(seconds=30))
    max_output: int = Field(64 * 1024, ge=1024, le=MAX_OUTPUT_LIMIT)

    @field_validator("allow_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            problem = link_problem(url)
            if problem or not url.lower().startswith(("http://", "https://")):
                raise ValueError(f"allow_urls entry {url[:80]!r} must be an http(s) URL prefix")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(seconds=1) <= value <= MAX_STEP_TIMEOUT:
            raise ValueError("timeout must be between 1s and 1h")
        return value


def _runner_kind(value) -> str:
    return value.get("kind", "shell") if isinstance(value, dict) else getattr(value, "kind", "shell")


Runner = Annotated[Annotated[ShellRunner, Tag("shell")] | Annotated[HttpRunner, Tag("http")], Discriminator(_runner_kind)]


class RunbooksConfig(Strict):
    """The `runbooks:` section."""

    path: str = Field(min_length=1, max_length=1024,
                      description="The runbooks folder. A relative path is taken from the directory `apply` (or `serve`) runs in.")
    review_every: Duration = Field(dt.timedelta(days=90), description="Default review cadence of a document (front matter may override).")
    remind_before: Duration = Field(dt.timedelta(days=14), description="Owners are reminded this long before a review expires.")
    runners: list[Runner] = Field(default_factory=list, max_length=20,
                                  description="The allow-list of runners executable steps may use; empty: no step can run.")

    @field_validator("review_every")
    @classmethod
    def _review_every(cls, value: dt.timedelta) -> dt.timedelta:
        return _cadence(value)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if any(ord(c) < 0x20 for c in value):
            raise ValueError("path contains control characters")
        return value

    @model_validator(mode="after")
    def _unique(self) -> "RunbooksConfig":
        names = [r.name for r in self.runners]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"runner names must be unique; declared twice: {', '.join(twice)}")
        return self


# ---------------------------------------------------------------------------- reads


class StepRead(BaseModel):
    name: str
    runner: str
    command: str
    line: int
    confirm: bool = True
    timeout_seconds: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.command.encode()).hexdigest()


class ReviewStatus(BaseModel):
    """Whether a document's review is current: reviewed within its cadence by someone who is not
    its last author. `reason` says what is missing when it is not."""

    last_reviewed: dt.date | None
    reviewed_by: str | None
    review_every: Duration
    review_due: dt.date | None
    current: bool
    reason: str


class DocumentRead(BaseModel):
    path: str
    title: str
    kind: str
    services: list[str]
    alerts: list[str]
    owners: list[str]
    reviewers: list[str]
    authors: list[str]
    last_author: str | None
    last_commit: str | None
    last_commit_at: dt.datetime | None
    review: ReviewStatus
    steps: list[StepRead]
    synced_at: dt.datetime


class DocumentDetail(DocumentRead):
    body: str
    html: str
    pending_review: ReviewRead | None = None


class ReviewRead(BaseModel):
    id: int
    path: str
    status: str
    requested_by: str | None
    requested_at: dt.datetime | None
    reviewer: str | None
    approved_at: dt.datetime | None
    commit: str | None
    note: str | None


class StepRunRead(BaseModel):
    id: int
    path: str
    step: str
    runner: str
    runner_kind: str
    command: str
    status: str
    requested_by: str
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_seconds: float | None
    timeout_seconds: int
    exit_code: int | None
    timed_out: bool
    output: str | None = None
    truncated: bool
    incident_id: int | None
    reason: str | None


class StepRunRequest(Strict):
    """Run one step. `confirm` must be true: nothing runs without it. `dry_run` returns the
    exact command without running it."""

    confirm: bool = False
    dry_run: bool = False
    incident_id: int | None = Field(None, ge=1)
    command_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$",
                                       description="The sha256 of the step text the person confirmed (a dry run and the "
                                                   "document show it): refused if the step changed since.")


class DryRun(BaseModel):
    path: str
    step: str
    runner: str
    runner_kind: str
    command: list[str] | str
    timeout_seconds: int
    would_run: bool
    reason: str | None = None
    command_sha256: str = ""


class ReviewRequest(Strict):
    note: str | None = Field(None, max_length=2000)


class Finding(BaseModel):
    """One lint finding: `severity` error or warning, `check` its kind, `path` the document
    (None for a service-level finding), `service` when it is about one, `message` one line."""

    severity: Literal["error", "warning"]
    check: str
    message: str
    path: str | None = None
    line: int | None = None
    service: str | None = None


class BusFactor(BaseModel):
    service: str
    people: list[str]
    count: int


class LintReport(BaseModel):
    findings: list[Finding]
    bus_factor: list[BusFactor]
    documents: int

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


class SyncResult(BaseModel):
    path: str
    created: int
    updated: int
    deleted: int
    unchanged: int
    head_commit: str | None


DocumentDetail.model_rebuild()
