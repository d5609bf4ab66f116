"""Incident tables (all named incidents_*)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime


class Incident(Base):
    """One incident. `team` is the owning team of its first service (permissions and scope);
    `services` are all affected services. Timestamps: started (the impact began: the first
    alert's start or the declarer's word), detected (declared), acknowledged, mitigated
    (monitoring reached), resolved."""

    __tablename__ = "incidents_incident"
    __table_args__ = (Index("ix_incidents_incident_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20))
    team: Mapped[str] = mapped_column(String(100), index=True)
    services: Mapped[list[str]] = mapped_column(JSONType)
    impact: Mapped[str | None] = mapped_column(Text)
    customer_facing: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20))  # manual | alert | drill
    policy: Mapped[str | None] = mapped_column(String(100))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    commander: Mapped[str | None] = mapped_column(String(200))
    communications: Mapped[str | None] = mapped_column(String(200))
    scribe: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    mitigated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # resolved, cancelled or merged
    merged_into_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AlertLink(Base):
    """An alert (by fingerprint) attached to an incident."""

    __tablename__ = "incidents_alert_link"
    __table_args__ = (UniqueConstraint("incident_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents_incident.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    alertname: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(100))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Entry(Base):
    """A timeline entry. `visibility` public entries (status updates marked public) are the only
    ones the status page shows; everything else is internal."""

    __tablename__ = "incidents_entry"
    __table_args__ = (Index("ix_incidents_entry_incident_at", "incident_id", "at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents_incident.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)  # Markdown (notes, status updates)
    visibility: Mapped[str] = mapped_column(String(10), default="internal")  # internal | public
    link: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Setting(Base):
    """The stored `incidents:` section: one row per severity, auto-declare policy, and the
    singletons (status_page, process_document, postmortems)."""

    __tablename__ = "incidents_setting"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # severity | policy | settings
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
    position: Mapped[int] = mapped_column(Integer, default=0)
    managed_by: Mapped[str] = mapped_column(String(20), default="config")


class Postmortem(Base):
    """The blameless write-up of one incident."""

    __tablename__ = "incidents_postmortem"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents_incident.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # draft | published
    summary: Mapped[str | None] = mapped_column(Text)
    impact: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    contributing_factors: Mapped[str | None] = mapped_column(Text)
    went_well: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ActionItem(Base):
    """A follow-up of a postmortem. Verified only when linked to a deploy or change record and
    the incident's fingerprint has not recurred for the configured days."""

    __tablename__ = "incidents_action_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents_incident.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))  # open | done | verified | reopened
    tracker_url: Mapped[str | None] = mapped_column(String(500))
    change_ref: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recurrence_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
