"""Readiness tables: config policies, waivers, attestations, item states and their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base, TimestampMixin
from watchkeeper.db.types import JSONType, UTCDateTime


class Policy(TimestampMixin, Base):
    """Config tuning of one stage's checklist: check id → {level, tiers, title, asks}."""

    __tablename__ = "readiness_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(10), unique=True)
    items: Mapped[dict] = mapped_column(JSONType, default=dict)
    managed_by: Mapped[str] = mapped_column(String(20), default="config")


class Waiver(Base):
    __tablename__ = "readiness_waiver"
    __table_args__ = (Index("ix_readiness_waiver_service_check", "service_id", "check_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")


class Attestation(Base):
    __tablename__ = "readiness_attestation"
    __table_args__ = (Index("ix_readiness_attestation_service_check", "service_id", "check_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(64))
    attested_by: Mapped[str] = mapped_column(String(100))
    link: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    attested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")


class ItemState(Base):
    """The last recorded outcome of one check for one service (written only when it changes)."""

    __tablename__ = "readiness_item_state"
    __table_args__ = (UniqueConstraint("service_id", "check_id", name="uq_readiness_item_state_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(64))
    word: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ItemHistory(Base):
    __tablename__ = "readiness_item_history"
    __table_args__ = (Index("ix_readiness_item_history_lookup", "service_id", "check_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(64))
    word: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ServiceState(Base):
    """Overall readiness of a service for its current stage, and an open regression if any."""

    __tablename__ = "readiness_service_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"), unique=True)
    stage: Mapped[str] = mapped_column(String(10))
    ready: Mapped[bool] = mapped_column(Boolean)
    blocking: Mapped[list] = mapped_column(JSONType, default=list)
    evaluated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    regression_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
