"""Tables of the alert pipeline: alerts and their history, groups, silences, drills, config."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Alert(Base):
    """One alert identity (its fingerprint) and its current state. Repeats update the row;
    each firing/resolved transition and each human action adds an AlertEvent."""

    __tablename__ = "alerting_alert"
    __table_args__ = (Index("ix_alerting_alert_status_service", "status", "service"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32), unique=True)
    alertname: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    state: Mapped[str] = mapped_column(String(16))  # active | silenced | inhibited | maintenance
    state_reason: Mapped[str | None] = mapped_column(Text)
    state_ref: Mapped[str | None] = mapped_column(String(100))
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(String(30))
    service: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(30))
    generator_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    receive_count: Mapped[int] = mapped_column(Integer, default=1)
    fired_count: Mapped[int] = mapped_column(Integer, default=1)
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(200))
    quality: Mapped[str | None] = mapped_column(String(16))  # actionable | noise
    quality_by: Mapped[str | None] = mapped_column(String(200))
    drill_id: Mapped[int | None] = mapped_column(Integer)


class AlertEvent(Base):
    """History of one alert: fired, resolved, suppressed, acknowledged, marked, notified."""

    __tablename__ = "alerting_alert_event"
    __table_args__ = (Index("ix_alerting_alert_event_alert_at", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerting_alert.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class AlertGroup(Base):
    """Alerts that share a route and group labels notify together (Alertmanager's aggregation
    group). Timings are copied from the route when the group is created or config changes."""

    __tablename__ = "alerting_group"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    route_path: Mapped[str] = mapped_column(String(200))
    receiver: Mapped[str] = mapped_column(String(100))
    group_labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    service: Mapped[str | None] = mapped_column(String(100))
    group_wait_seconds: Mapped[int] = mapped_column(Integer)
    group_interval_seconds: Mapped[int] = mapped_column(Integer)
    repeat_interval_seconds: Mapped[int] = mapped_column(Integer)
    send_resolved: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_flush_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    notified_hash: Mapped[str | None] = mapped_column(String(64))
    notify_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class GroupMember(Base):
    __tablename__ = "alerting_group_member"

    group_id: Mapped[int] = mapped_column(ForeignKey("alerting_group.id", ondelete="CASCADE"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerting_alert.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    notified_status: Mapped[str | None] = mapped_column(String(16))


class Silence(Base):
    __tablename__ = "alerting_silence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[list[str]] = mapped_column(JSONType)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expired_by: Mapped[str | None] = mapped_column(String(200))


class Receiver(Base):
    """Where notifications go: a named list of channels (email, webhook, chat). Channel
    settings name environment variables for secrets; no secret is stored here."""

    __tablename__ = "alerting_receiver"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RoutingConfig(Base):
    """The route tree, inhibit rules and dependency inhibition switch (one row, id 1)."""

    __tablename__ = "alerting_routing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route: Mapped[dict[str, Any]] = mapped_column(JSONType)
    inhibit_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    dependency_inhibition: Mapped[bool] = mapped_column(Boolean, default=True)
    delivery: Mapped[dict[str, Any]] = mapped_column(JSONType)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Drill(Base):
    """A fire drill: a test alert sent through a service's real route; it passes when a
    person acknowledges it before the deadline."""

    __tablename__ = "alerting_drill"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(100), index=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | passed | failed
    receivers: Mapped[list[str]] = mapped_column(JSONType)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(200))
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(200))
