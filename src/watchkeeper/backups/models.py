"""The backups domain's tables: backup jobs and their runs (backups and restore tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class BackupJob(Base):
    """What to back up and how (`source`: the kind's fields, secrets only as env-var names),
    when (`schedule`, cron in `timezone`), what to keep (`retention`) and how a restore is
    tested (`restore_test`). `lock_run_id`/`lock_until` make runs of one job exclusive across
    processes: a run takes the lock with a conditional UPDATE; a lock whose holder died expires
    after the run's timeout."""

    __tablename__ = "backups_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    service: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[dict[str, Any]] = mapped_column(JSONType)
    schedule: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    retention: Mapped[dict[str, Any]] = mapped_column(JSONType)
    restore_test: Mapped[dict[str, Any]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
    next_backup_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_restore_test_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lock_run_id: Mapped[int | None] = mapped_column(BigId)
    lock_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class BackupRun(Base):
    """One backup or restore test of a job. `artifact` is what a backup produced (a restic
    snapshot id, a dump file); `data_at` is when the data it holds was taken (for a restore
    test: the backup it restored), so now − data_at is the data a restore would lose (RPO);
    `duration_seconds` of a restore test is the measured RTO."""

    __tablename__ = "backups_run"
    __table_args__ = (Index("ix_backups_run_job_kind_id", "job_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("backups_job.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # backup | restore_test
    status: Mapped[str] = mapped_column(String(20))  # queued | running | succeeded | failed | skipped
    trigger: Mapped[str] = mapped_column(String(20))  # manual | schedule
    requested_by: Mapped[str] = mapped_column(String(200))
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    artifact: Mapped[str | None] = mapped_column(String(4096))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    data_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    backup_run_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    output: Mapped[str | None] = mapped_column(Text)
