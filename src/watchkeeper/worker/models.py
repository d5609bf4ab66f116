"""The worker runner's own tables: the periodic schedule and the SQLite leader lease."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import UTCDateTime


class Schedule(Base):
    """When each periodic job is next due. Written only by the leader."""

    __tablename__ = "worker_schedule"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LeaderLease(Base):
    """Leader election on SQLite (PostgreSQL uses an advisory lock instead)."""

    __tablename__ = "worker_leader"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
