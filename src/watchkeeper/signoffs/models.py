from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base, TimestampMixin
from watchkeeper.db.types import JSONType, UTCDateTime


class StakeholderRole(TimestampMixin, Base):
    __tablename__ = "signoffs_stakeholder_role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    required_for: Mapped[list] = mapped_column(JSONType, default=list)  # checkpoints this role must sign
    people: Mapped[list] = mapped_column(JSONType, default=list)  # who may sign for it (empty: anyone permitted)
    managed_by: Mapped[str] = mapped_column(String(20), default="config")


class Signoff(Base):
    __tablename__ = "signoffs_signoff"
    __table_args__ = (Index("ix_signoffs_signoff_service_checkpoint", "service_id", "checkpoint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    checkpoint: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(100))
    signer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
