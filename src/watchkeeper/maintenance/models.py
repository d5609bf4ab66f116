from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class Window(Base):
    """A maintenance window. One-off: starts_at..starts_at+duration. Recurring: occurrences of
    `rrule` (RFC 5545) or `cron`, computed in `timezone`, each lasting `duration_seconds`,
    from starts_at until `until` (open-ended when null)."""

    __tablename__ = "maintenance_window"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    service: Mapped[str | None] = mapped_column(String(100), index=True)
    matchers: Mapped[list[str]] = mapped_column(JSONType)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int] = mapped_column(Integer)
    rrule: Mapped[str | None] = mapped_column(Text)
    cron: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
