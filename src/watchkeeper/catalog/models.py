from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from watchkeeper.db.base import Base, TimestampMixin
from watchkeeper.db.types import JSONType, UTCDateTime


class Team(TimestampMixin, Base):
    __tablename__ = "catalog_team"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    chat: Mapped[str | None] = mapped_column(String(300))
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", lazy="selectin"
    )


class Person(TimestampMixin, Base):
    __tablename__ = "catalog_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    contact_methods: Mapped[list] = mapped_column(JSONType, default=list)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")


class TeamMember(Base):
    __tablename__ = "catalog_team_member"
    __table_args__ = (UniqueConstraint("team_id", "person_id", name="uq_catalog_team_member_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("catalog_team.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("catalog_person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")

    team: Mapped[Team] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")


class Service(TimestampMixin, Base):
    __tablename__ = "catalog_service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[int] = mapped_column(ForeignKey("catalog_team.id", ondelete="RESTRICT"), index=True)
    tier: Mapped[int] = mapped_column(Integer, default=3)
    stage: Mapped[str] = mapped_column(String(10), default="POC")
    public_url: Mapped[str | None] = mapped_column(String(500))
    links: Mapped[list] = mapped_column(JSONType, default=list)
    support_hours: Mapped[dict | None] = mapped_column(JSONType)
    sla_target: Mapped[float | None] = mapped_column(Float)
    slo_target: Mapped[float | None] = mapped_column(Float)
    slo_window_seconds: Mapped[int | None] = mapped_column(Integer)
    rpo_seconds: Mapped[int | None] = mapped_column(Integer)
    rto_seconds: Mapped[int | None] = mapped_column(Integer)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    forced_reason: Mapped[str | None] = mapped_column(Text)
    managed_by: Mapped[str] = mapped_column(String(20), default="runtime")

    team: Mapped[Team] = relationship(lazy="joined")


class Dependency(Base):
    __tablename__ = "catalog_dependency"
    __table_args__ = (UniqueConstraint("service_id", "depends_on_id", name="uq_catalog_dependency_edge"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"), index=True)
    depends_on_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"), index=True)


class StageChange(Base):
    __tablename__ = "catalog_stage_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("catalog_service.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(10))
    to_stage: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
