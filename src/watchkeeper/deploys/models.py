"""The deploys domain's tables: deploy records, rollout steps, rollbacks and drills, gate
overrides, freezes and change windows, and per-service deploy policies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Deploy(Base):
    """One deployment of a version of a service to an environment. `tests_status` is passed,
    failed or untested (no evidence given); `rollback_version`/`rollback_how` is the way back.
    `status`: in_progress, succeeded, failed, rolled_back, aborted. `gate` is what the deploy
    gate said when the deploy started (allowed, refused, overridden). A gradual rollout keeps
    its plan in `rollout` and its progress in deploys_step."""

    __tablename__ = "deploys_deploy"
    __table_args__ = (Index("ix_deploys_deploy_service_env_id", "service", "environment", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service: Mapped[str] = mapped_column(String(100))
    environment: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(10))
    version: Mapped[str] = mapped_column(String(200))
    commit: Mapped[str | None] = mapped_column(String(64))
    artifact: Mapped[str | None] = mapped_column(String(1000))
    triggered_by: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(200))
    tests_status: Mapped[str] = mapped_column(String(10))
    tests_url: Mapped[str | None] = mapped_column(String(2000))
    tests_passed: Mapped[int | None] = mapped_column(Integer)
    tests_failed: Mapped[int | None] = mapped_column(Integer)
    tests_skipped: Mapped[int | None] = mapped_column(Integer)
    rollback_version: Mapped[str | None] = mapped_column(String(200))
    rollback_how: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    gate: Mapped[str | None] = mapped_column(String(20))
    gate_reasons: Mapped[list[Any]] = mapped_column(JSONType)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    rollout: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rollout_status: Mapped[str | None] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)


class Step(Base):
    """One step of a gradual rollout. `hook_at` is set in the same transaction that records
    the traffic hook's success, so a resumed rollout never calls a step's hook twice."""

    __tablename__ = "deploys_step"
    __table_args__ = (UniqueConstraint("deploy_id", "idx", name="uq_deploys_step_deploy_idx"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deploy_id: Mapped[int] = mapped_column(ForeignKey("deploys_deploy.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # pending | running | passed | failed | waiting_approval
    hook_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hook_runs: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    analysis: Mapped[dict[str, Any]] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(Text)


class Rollback(Base):
    """A rollback (or a drill: back to the previous version, then forward again) with the
    measured time-to-healthy of each leg against `target_seconds`."""

    __tablename__ = "deploys_rollback"
    __table_args__ = (Index("ix_deploys_rollback_service_id", "service", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service: Mapped[str] = mapped_column(String(100))
    environment: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))  # rollback | drill
    trigger: Mapped[str] = mapped_column(String(20))  # manual | analysis | crash
    status: Mapped[str] = mapped_column(String(20))  # queued | running | succeeded | failed
    deploy_id: Mapped[int | None] = mapped_column(BigId)
    from_version: Mapped[str | None] = mapped_column(String(200))
    to_version: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(200))
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    target_seconds: Mapped[float] = mapped_column(Float)
    time_to_healthy_seconds: Mapped[float | None] = mapped_column(Float)
    legs: Mapped[list[Any]] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(Text)


class Override(Base):
    """Permission to deploy `version` of `service` to `stage` although the gate refuses. PROD
    needs a second person (`approved_by` differs from `requested_by`); other stages are
    approved by the request itself."""

    __tablename__ = "deploys_override"
    __table_args__ = (Index("ix_deploys_override_service_version", "service", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Freeze(Base):
    """A change freeze (no deploys inside it) or a change window (deploys only inside one, when
    any applies), for one service, one team or everything; one-off (`starts_at` + duration) or
    recurring (`cron` in `timezone` + duration)."""

    __tablename__ = "deploys_freeze"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # freeze | window
    service: Mapped[str | None] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cron: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    duration_seconds: Mapped[int] = mapped_column(Integer)
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Policy(Base):
    """A service's deploy policy: hooks (rollback, deploy, traffic), health, error-budget
    policy and rollout plan, as declared under `deploys.services` (schemas.ServiceDeployConfig)."""

    __tablename__ = "deploys_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(100), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    managed_by: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
