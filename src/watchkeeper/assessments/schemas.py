from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from watchkeeper.assessments._suites import AuditLevel, Severity, Suite
from watchkeeper.validation import Strict


class FindingCreate(Strict):
    rule: str = Field(min_length=1, max_length=200, description="The tool's rule or advisory id, e.g. PYSEC-2024-48 or B105.")
    title: str = Field(min_length=1, max_length=500, description="One line: what is wrong.")
    severity: Severity = Field(description="info, low, medium, high or critical. High and critical block every level.")
    link: HttpUrl | None = Field(None, description="Where the finding is explained.")


class ResultCreate(Strict):
    """A result posted by an external tool (pip-audit, bandit, ZAP, Lighthouse, a load test)."""

    tool: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$",
                      description="Tool name, e.g. pip-audit. Each tool's newest result replaces its previous one.")
    level: AuditLevel = Field(description="The level the tool audited at: basic, standard or complete.")
    ran_at: dt.datetime | None = Field(None, description="When the tool ran (default: now). Must not be in the future.")
    link: HttpUrl | None = Field(None, description="The full report, e.g. the CI job.")
    summary: str | None = Field(None, max_length=2000)
    findings: list[FindingCreate] = Field(default_factory=list, max_length=5000)


class FindingResolve(Strict):
    reason: str = Field(min_length=3, max_length=2000, description="Why the finding no longer applies (fixed, false positive, accepted).")


class CheckResult(BaseModel):
    id: str
    title: str
    level: AuditLevel
    status: str
    reason: str


class FindingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    suite: Suite
    tool: str
    rule: str
    title: str
    severity: Severity
    link: str | None
    status: str
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str | None


class RunRead(BaseModel):
    id: int
    service: str
    suite: Suite
    tool: str
    builtin: bool
    level: AuditLevel
    ran_at: dt.datetime
    link: str | None
    summary: str | None
    recorded_by: str
    checks: list[CheckResult]
    findings: list[FindingRead]


class LevelStatus(BaseModel):
    level: AuditLevel
    passed: bool
    problems: list[str]


class SuiteStatus(BaseModel):
    suite: Suite
    passed_level: AuditLevel | None = Field(description="Highest level passed, or null.")
    levels: list[LevelStatus]
    open_findings: list[FindingRead]
    last_run_at: dt.datetime | None


class ServiceAudits(BaseModel):
    service: str
    suites: list[SuiteStatus]
