"""On-call tables, all named oncall_* (migration branch `oncall`, revisions 08xx)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base, TimestampMixin
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


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
    response_targets: Mapped[list] = mapped_column(JSONType, default=list, server_default="[]")
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")


class Escalation(Base):
    """One escalation: a policy (its levels snapshotted at the start) paging people about `ref`
    (an opaque reference of the starter, e.g. "group:12" for an alert group) until someone
    acknowledges, it is resolved, or its levels and repeats run out ("exhausted").

    `level`/`loop` point at the step due next, at `next_step_at`; the step itself is a queue job
    (`oncall.step`) whose payload names `seq`: every change of the pointer increments `seq`,
    so a step job written for an earlier pointer finds a different `seq` and does nothing.
    `open_ref` is `ref` while the escalation is open and NULL once resolved: the unique
    constraint allows one open escalation per ref."""

    __tablename__ = "oncall_escalation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(200), index=True)
    open_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    service: Mapped[str | None] = mapped_column(String(100), index=True)
    team: Mapped[str | None] = mapped_column(String(100))
    policy: Mapped[str] = mapped_column(String(100), index=True)
    levels: Mapped[list] = mapped_column(JSONType)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(30))
    ack_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | acknowledged | exhausted | resolved
    level: Mapped[int] = mapped_column(Integer, default=0)
    loop: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    next_step_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_level: Mapped[int | None] = mapped_column(Integer)  # the level paged last
    reassign_to: Mapped[str | None] = mapped_column(String(100))  # a reassignment waiting for its step
    rr_offset: Mapped[int] = mapped_column(Integer, default=0)  # round-robin start of this escalation
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Response SLAs (the policy's target for the severity, at the start) and when each was missed.
    ack_target_s: Mapped[int | None] = mapped_column(Integer)
    resolve_target_s: Mapped[int | None] = mapped_column(Integer)
    ack_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolve_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class EscalationEvent(Base):
    """What happened to an escalation: started, notified (who, at which level and repeat),
    escalated, reassigned, acknowledged, resolved, exhausted."""

    __tablename__ = "oncall_escalation_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("oncall_escalation.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[int | None] = mapped_column(Integer)
    loop: Mapped[int | None] = mapped_column(Integer)
    people: Mapped[list] = mapped_column(JSONType, default=list)
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSONType)
