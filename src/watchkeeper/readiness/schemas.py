from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, HttpUrl, field_validator, model_validator

from watchkeeper.catalog.stages import Stage
from watchkeeper.catalog.schemas import NAME_PATTERN
from watchkeeper.durations import Duration
from watchkeeper.evidence import Status
from watchkeeper.readiness._checklist import CHECKS, Kind, Level
from watchkeeper.signoffs.schemas import StakeholderRoleCreate
from watchkeeper.validation import Strict

CHECK_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
MAX_HORIZON = dt.timedelta(days=366)


# ---------------------------------------------------------------- waivers and attestations


class WaiverCreate(Strict):
    check: str = Field(pattern=CHECK_PATTERN, description="Check id to waive, e.g. backup_restore_tested.")
    reason: str = Field(min_length=10, max_length=2000, description="Why the item may be skipped for now, and the plan.")
    expires_at: dt.datetime | None = Field(None, description="When the waiver ends (at most a year ahead).")
    expires_in: Duration | None = Field(None, description="Or how long it lasts, e.g. 30d.")

    @model_validator(mode="after")
    def _one_expiry(self) -> "WaiverCreate":
        if (self.expires_at is None) == (self.expires_in is None):
            raise ValueError("give exactly one of expires_at (a date) or expires_in (e.g. 30d)")
        return self


class WaiverRead(BaseModel):
    id: int
    service: str
    check: str
    reason: str
    granted_by: str
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    managed_by: str
    active: bool


class AttestationCreate(Strict):
    check: str = Field(pattern=CHECK_PATTERN, description="Attestation item, e.g. happy_path_tested.")
    by: str | None = Field(None, pattern=NAME_PATTERN,
                           description="Handle of the person who attests (a catalog person). Defaults to the caller.")
    link: HttpUrl = Field(description="Where the proof is: test report, document, ticket.")
    note: str | None = Field(None, max_length=2000)
    expires_at: dt.datetime | None = Field(None, description="When the attestation must be renewed (at most a year ahead).")
    expires_in: Duration | None = Field(None, description="Or how long it holds, e.g. 90d.")

    @model_validator(mode="after")
    def _one_expiry(self) -> "AttestationCreate":
        if (self.expires_at is None) == (self.expires_in is None):
            raise ValueError("give exactly one of expires_at (a date) or expires_in (e.g. 90d)")
        return self


class AttestationRead(BaseModel):
    id: int
    service: str
    check: str
    attested_by: str
    link: str
    note: str | None
    attested_at: dt.datetime
    expires_at: dt.datetime
    recorded_by: str
    revoked_at: dt.datetime | None
    revoked_by: str | None
    managed_by: str
    active: bool


class Revoke(Strict):
    reason: str = Field(min_length=3, max_length=2000)


# ---------------------------------------------------------------- config: the `readiness:` section


def _level(value: Any) -> Any:
    # YAML 1.1 reads a bare `off` as false; take it as the level the operator meant.
    return "off" if value is False else value


LevelValue = Annotated[Level, BeforeValidator(_level)]


class ItemTuning(Strict):
    """How a stage treats one check: its level, per-tier levels, and for a custom
    attestation item its title. A bare level (`dr_plan: recommended`) is short for {level: ...}."""

    level: LevelValue | None = Field(None, description="required, recommended or off.")
    tiers: dict[int, LevelValue] = Field(default_factory=dict, description="Level per tier (1–3), beating `level`.")
    title: str | None = Field(None, max_length=200, description="Title; required for a custom (attestation) item.")
    asks: str | None = Field(None, max_length=500, description="What the item asks for, shown next to it.")

    @model_validator(mode="before")
    @classmethod
    def _bare_level(cls, value: Any) -> Any:
        return {"level": _level(value)} if isinstance(value, (str, bool)) else value

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: dict[int, Level]) -> dict[int, Level]:
        bad = [t for t in value if t not in (1, 2, 3)]
        if bad:
            raise ValueError(f"tiers {bad} do not exist; tiers are 1, 2 and 3")
        return value


class WaiverConfig(Strict):
    service: str = Field(pattern=NAME_PATTERN)
    check: str = Field(pattern=CHECK_PATTERN)
    reason: str = Field(min_length=10, max_length=2000)
    granted_by: str = Field(min_length=2, max_length=200, description="Who approved the waiver.")
    expires: dt.date | dt.datetime = Field(description="Date the waiver ends; the item fails again after it.")


class AttestationConfig(Strict):
    service: str = Field(pattern=NAME_PATTERN)
    check: str = Field(pattern=CHECK_PATTERN)
    by: str = Field(pattern=NAME_PATTERN, description="Handle of the person who attests.")
    link: HttpUrl
    note: str | None = None
    expires: dt.date | dt.datetime


def as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


class ReadinessConfig(Strict):
    """The readiness gate as code: checklist tuning, stakeholder roles, waivers, attestations."""

    stakeholder_roles: list[StakeholderRoleCreate] = Field(
        default_factory=list, description="Roles whose holders sign off checkpoints (refine, launch)."
    )
    policies: dict[Stage, dict[str, ItemTuning]] = Field(
        default_factory=dict,
        description="Per stage: check id → level (required/recommended/off) or {level, tiers, title}. "
        "Unknown ids with a title add custom attestation items.",
    )
    waivers: list[WaiverConfig] = Field(default_factory=list, description="Waivers owned by this file.")
    attestations: list[AttestationConfig] = Field(default_factory=list, description="Attestations owned by this file.")

    @field_validator("policies")
    @classmethod
    def _checks(cls, value: dict[Stage, dict[str, Any]]) -> dict[Stage, dict[str, Any]]:
        for stage, items in value.items():
            for check, tuning in items.items():
                if not re.match(CHECK_PATTERN, check):
                    raise ValueError(f"policies.{stage}: '{check}' is not a check id; use lowercase letters, digits and _")
                if check not in CHECKS and not tuning.title:
                    raise ValueError(f"policies.{stage}.{check}: unknown check; known checks: {', '.join(sorted(CHECKS))} "
                                     "— or give it a title to add a custom attestation item")
        return value

    @model_validator(mode="after")
    def _unique(self) -> "ReadinessConfig":
        for label, keys in (("waivers", [(w.service, w.check) for w in self.waivers]),
                            ("attestations", [(a.service, a.check) for a in self.attestations])):
            seen = set()
            for key in keys:
                if key in seen:
                    raise ValueError(f"{label}: {key[0]}/{key[1]} is declared twice; keep one")
                seen.add(key)
        names = [r.name for r in self.stakeholder_roles]
        if len(names) != len(set(names)):
            raise ValueError("stakeholder_roles: a role is declared twice; keep one")
        custom = {c for items in self.policies.values() for c, t in items.items() if c not in CHECKS}
        known = set(CHECKS) | custom
        for label, items in (("waivers", self.waivers), ("attestations", self.attestations)):
            for item in items:
                if item.check not in known:
                    raise ValueError(f"{label}: unknown check '{item.check}' for {item.service}; known: {', '.join(sorted(known))}")
        for item in self.attestations:
            if item.check in CHECKS and CHECKS[item.check].kind is not Kind.ATTESTATION:
                raise ValueError(f"attestations: '{item.check}' is measured by Watchkeeper, not attested; fix the evidence or waive it")
        return self

    def tuning(self) -> dict[Stage, dict[str, dict]]:
        out: dict[Stage, dict[str, dict]] = {}
        for stage, items in self.policies.items():
            out[stage] = {c: t.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for c, t in items.items()}
        return out


# ---------------------------------------------------------------- results


class ItemResult(BaseModel):
    check: str
    title: str
    kind: Kind
    level: Level
    asks: str
    status: Status = Field(description="What the evidence says: pass, warn, fail or unknown.")
    word: str = Field(description="What is shown: pass, warn, fail, unknown or waived.")
    reason: str
    observed_at: dt.datetime | None
    age_seconds: float | None
    link: str | None
    details: dict[str, Any] = Field(default_factory=dict)
    passing: bool
    blocking: bool
    waiver: WaiverRead | None = None
    expired_waiver: WaiverRead | None = None
    attestation: AttestationRead | None = None
    since: dt.datetime | None = Field(None, description="Since when the item shows this word (from recorded history).")


class ReadinessReport(BaseModel):
    service: str
    team: str
    tier: int
    stage: Stage = Field(description="The stage whose checklist was evaluated.")
    current_stage: Stage
    forced: bool
    evaluated_at: dt.datetime
    ready: bool = Field(description="True when no required item fails.")
    word: str
    counts: dict[str, int]
    items: list[ItemResult]

    @property
    def blocking(self) -> list[ItemResult]:
        return [i for i in self.items if i.blocking]


class HistoryEntry(BaseModel):
    check: str
    word: str
    reason: str
    at: dt.datetime


class PolicyItemRead(BaseModel):
    check: str
    title: str
    kind: Kind
    level: Level
    asks: str


class PolicyRead(BaseModel):
    stage: Stage
    tier: int
    items: list[PolicyItemRead]
    tuning: dict[str, Any]
    managed_by: str | None


class ScorecardColumn(BaseModel):
    check: str
    title: str


class ScorecardCell(BaseModel):
    word: str
    level: Level | None
    reason: str


class ScorecardRow(BaseModel):
    service: str
    team: str
    tier: int
    stage: Stage
    forced: bool
    ready: bool
    word: str
    cells: dict[str, ScorecardCell]


class Scorecard(BaseModel):
    stage: Stage
    evaluated_at: dt.datetime
    columns: list[ScorecardColumn]
    rows: list[ScorecardRow]


class RefreshSummary(BaseModel):
    evaluated: int
    changed_items: int
    regressions_opened: list[str]
    regressions_resolved: list[str]
    unforced: list[str]
