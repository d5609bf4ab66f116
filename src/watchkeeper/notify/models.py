"""The outbox and its delivery attempts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Outbox(Base):
    """One message for one channel. Status: pending → sending → sent, or back to pending with
    a later next_attempt_at, or dead after the last attempt, or unconfirmed when a worker died
    mid-send on a channel that cannot be safely resent."""

    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ix_notify_outbox_ready", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    ref: Mapped[str | None] = mapped_column(String(200), index=True)
    receiver: Mapped[str] = mapped_column(String(100))
    channel_kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[dict[str, Any]] = mapped_column(JSONType)
    message: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    backoff_base_seconds: Mapped[float] = mapped_column(Float)
    backoff_max_seconds: Mapped[float] = mapped_column(Float)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(32))  # worker_process.id of the claim's holder
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when the row is sent again after an attempt whose outcome is unknown (a crash inside
    # the exchange): the recipient may get it twice. Shown in the UI and the outbox list.
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Attempt(Base):
    """One try at sending an outbox row, written before the network call and updated after."""

    __tablename__ = "notify_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("notify_outbox.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # sending | ok | failed | unknown
    stage: Mapped[str | None] = mapped_column(String(16))  # SendStage: how far the attempt got
    latency_ms: Mapped[float | None] = mapped_column(Float)
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool | None] = mapped_column(Boolean)
