"""On-call tables, all named oncall_* (migration branch `oncall`, revisions 08xx)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base, TimestampMixin
from watchkeeper.db.types import JSONType, UTCDateTime


class Schedule(TimestampMixin, Base):
    """A schedule: a time zone and its layers (a JSON list of `schemas.Layer`, lowest first).
    `team` names the owning catalog team (permissions and scope follow it)."""

    __tablename__ = "oncall_schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    team: Mapped[str] = mapped_column(String(100), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    description: Mapped[str | None] = mapped_column(Text)
    layers: Mapped[list] = mapped_column(JSONType)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")


class Override(Base):
    """`person` covers the schedule from starts_at to ends_at, above every layer."""

    __tablename__ = "oncall_override"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("oncall_schedule.id", ondelete="CASCADE"), index=True)
    person: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Policy(TimestampMixin, Base):
    """An escalation policy: `levels` (a JSON list of `schemas.EscalationLevel`), repeated `repeat` more
    times; `services` (JSON list of catalog service names) use it as their policy."""

    __tablename__ = "oncall_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    team: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    services: Mapped[list] = mapped_column(JSONType, default=list)
    levels: Mapped[list] = mapped_column(JSONType)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
