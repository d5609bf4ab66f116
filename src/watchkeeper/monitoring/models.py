"""Monitoring tables: monitors and their per-location probe slots, check results, heartbeat pings,
signal history, the metrics store (series, raw samples, roll-ups), alert rules and SLOs.

Two deliberate departures from the `_at` datetime convention, both for hot paths:
`monitoring_location.due_ms` / `slot_ms` and `monitoring_sample.ts_ms` are epoch milliseconds.
Slot claiming computes the next slot in SQL and roll-ups bucket samples in SQL; integer
arithmetic is identical on SQLite and PostgreSQL, interval arithmetic is not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base, TimestampMixin
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Monitor(TimestampMixin, Base):
    __tablename__ = "monitoring_monitor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(Text)
    service: Mapped[str | None] = mapped_column(
        ForeignKey("catalog_service.name", ondelete="SET NULL"), index=True
    )
    interval_seconds: Mapped[float] = mapped_column(Float, default=60)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10)
    failures_before_down: Mapped[int] = mapped_column(Integer, default=2)
    locations: Mapped[list] = mapped_column(JSONType, default=list)
    quorum: Mapped[int] = mapped_column(Integer, default=1)
    labels: Mapped[dict] = mapped_column(JSONType, default=dict)
    severity: Mapped[str] = mapped_column(String(20), default="critical")
    runbook_url: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
    # state
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    # heartbeat
    ping_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    last_ping_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_start_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)


class Location(Base):
    """One probe slot stream: a monitor checked from one location ('*' = from any worker)."""

    __tablename__ = "monitoring_location"
    __table_args__ = (
        UniqueConstraint("monitor_id", "location", name="uq_monitoring_location_pair"),
        Index("ix_monitoring_location_due", "location", "due_ms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitoring_monitor.id", ondelete="CASCADE"), index=True)
    location: Mapped[str] = mapped_column(String(64))
    interval_ms: Mapped[int] = mapped_column(BigInteger)
    due_ms: Mapped[int | None] = mapped_column(BigInteger)  # NULL: paused or not probed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_slot_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(200))


class Check(Base):
    """One probe result. Unique per slot: a slot is never recorded twice."""

    __tablename__ = "monitoring_check"
    __table_args__ = (
        UniqueConstraint("monitor_id", "location", "slot_ms", name="uq_monitoring_check_slot"),
        Index("ix_monitoring_check_monitor_at", "monitor_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitoring_monitor.id", ondelete="CASCADE"))
    location: Mapped[str] = mapped_column(String(64))
    slot_ms: Mapped[int] = mapped_column(BigInteger)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))


class Ping(Base):
    __tablename__ = "monitoring_ping"
    __table_args__ = (Index("ix_monitoring_ping_monitor_at", "monitor_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitoring_monitor.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    signal: Mapped[str] = mapped_column(String(10))  # start | success | fail
    exit_status: Mapped[int | None] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)


class Series(Base):
    """A metric series: a name plus a label set, keyed by its canonical text."""

    __tablename__ = "monitoring_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(1000), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    labels: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Sample(Base):
    __tablename__ = "monitoring_sample"
    __table_args__ = (Index("ix_monitoring_sample_series_ts", "series_id", "ts_ms"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("monitoring_series.id", ondelete="CASCADE"))
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    value: Mapped[float] = mapped_column(Float)


class Rollup(Base):
    """Aggregates of raw samples per series and bucket (resolution 60 s or 3600 s)."""

    __tablename__ = "monitoring_rollup"
    __table_args__ = (Index("ix_monitoring_rollup_res_bucket", "resolution_s", "bucket_ms"),)

    series_id: Mapped[int] = mapped_column(ForeignKey("monitoring_series.id", ondelete="CASCADE"), primary_key=True)
    resolution_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)


class RollupMark(Base):
    """How far each resolution has been rolled up (exclusive end, epoch ms)."""

    __tablename__ = "monitoring_rollup_mark"

    resolution_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    done_until_ms: Mapped[int] = mapped_column(BigInteger)


class Rule(TimestampMixin, Base):
    __tablename__ = "monitoring_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    expr: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="embedded")  # embedded | prometheus
    prometheus_url: Mapped[str | None] = mapped_column(String(500))
    for_seconds: Mapped[float] = mapped_column(Float, default=0)
    every_seconds: Mapped[float] = mapped_column(Float, default=60)
    service: Mapped[str | None] = mapped_column(ForeignKey("catalog_service.name", ondelete="SET NULL"), index=True)
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    labels: Mapped[dict] = mapped_column(JSONType, default=dict)
    annotations: Mapped[dict] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
    last_eval_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class RuleAlert(Base):
    """One alert instance of a rule: a group of labels that is pending or firing."""

    __tablename__ = "monitoring_rule_alert"
    __table_args__ = (UniqueConstraint("rule_id", "group_key", name="uq_monitoring_rule_alert_group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rule.id", ondelete="CASCADE"), index=True)
    group_key: Mapped[str] = mapped_column(String(1000))
    labels: Mapped[dict] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(20))  # pending | firing
    active_since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    value: Mapped[float | None] = mapped_column(Float)


class Slo(TimestampMixin, Base):
    __tablename__ = "monitoring_slo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    service: Mapped[str | None] = mapped_column(ForeignKey("catalog_service.name", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # availability | latency
    target: Mapped[float] = mapped_column(Float)  # percent
    window_seconds: Mapped[int] = mapped_column(Integer)
    source: Mapped[dict] = mapped_column(JSONType)
    alerting: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
    evaluated_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)


class SloAlert(Base):
    __tablename__ = "monitoring_slo_alert"
    __table_args__ = (UniqueConstraint("slo_id", "alert", name="uq_monitoring_slo_alert_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slo_id: Mapped[int] = mapped_column(ForeignKey("monitoring_slo.id", ondelete="CASCADE"), index=True)
    alert: Mapped[str] = mapped_column(String(40))  # page-1h, page-6h, ticket-3d
    firing: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    burn_long: Mapped[float | None] = mapped_column(Float)
    burn_short: Mapped[float | None] = mapped_column(Float)
