"""The history of every internal signal's firing/resolved transition.

The table keeps its name from when signals were monitoring's alone (renaming it is a migration
for the signals branch; see docs/data-model.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Signal(Base):
    """History of every firing/resolved transition published as SignalChanged."""

    __tablename__ = "monitoring_signal"
    __table_args__ = (Index("ix_monitoring_signal_source_name", "source", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    firing: Mapped[bool] = mapped_column(Boolean)
    service: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    labels: Mapped[dict] = mapped_column(JSONType)
    annotations: Mapped[dict] = mapped_column(JSONType)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    details: Mapped[Any] = mapped_column(JSONType)
