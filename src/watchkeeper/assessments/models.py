from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class Run(Base):
    """One audit of one suite of one service, by Watchkeeper's built-in checks or by a tool."""

    __tablename__ = "assessments_run"
    __table_args__ = (Index("ix_assessments_run_latest", "service_id", "suite", "tool", "ran_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    suite: Mapped[str] = mapped_column(String(20))
    tool: Mapped[str] = mapped_column(String(100))
    builtin: Mapped[bool] = mapped_column(default=False)
    level: Mapped[str] = mapped_column(String(10))
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    link: Mapped[str | None] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list] = mapped_column(JSONType, default=list)  # built-in: [{id, level, status, reason}]
    recorded_by: Mapped[str] = mapped_column(String(200))


class Finding(Base):
    __tablename__ = "assessments_finding"
    __table_args__ = (Index("ix_assessments_finding_open", "service_id", "suite", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assessments_run.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    suite: Mapped[str] = mapped_column(String(20))
    tool: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(10))
    link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)
