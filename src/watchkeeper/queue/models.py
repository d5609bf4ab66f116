"""The queue's tables: jobs, and the worker processes that claim them (a claim names its
owner's `worker_process` id, so the work of a dead process is found and taken back)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class Job(Base):
    __tablename__ = "worker_job"
    __table_args__ = (Index("ix_worker_job_ready", "status", "run_after"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[Any] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int | None] = mapped_column(Integer)  # None: the job kind's default
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(32))  # worker_process.id of the claim's holder
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WorkerProcess(Base):
    """One run of one worker process (a fresh row, with a fresh random id, every start).

    Claims (`worker_job.owner`, `notify_outbox.owner`) name this id, so the work of a process
    that died is found and taken back in seconds instead of after its lease. Alive means: on
    PostgreSQL, the session-level advisory lock `lock_key` is held (the server drops it with
    the dead process's connection); on SQLite, `heartbeat_at` is recent."""

    __tablename__ = "worker_process"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), index=True)  # running | stopped | dead
    lock_key: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
