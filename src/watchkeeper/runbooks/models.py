"""The runbooks domain's tables: the folder's settings, the documents synced from it, reviews
recorded through Watchkeeper, and runs of executable steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.db.base import Base
from watchkeeper.db.types import JSONType, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class RunbookSettings(Base):
    """The one `runbooks:` section (id 1): where the folder is, the default review cadence, how
    long before a review expires owners are reminded, and the runners steps may use (an
    allow-list: a step naming another runner is refused). `last_sync_*` say how the last sync went."""

    __tablename__ = "runbooks_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024))
    review_every_seconds: Mapped[int] = mapped_column(Integer)
    remind_before_seconds: Mapped[int] = mapped_column(Integer)
    runners: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    managed_by: Mapped[str] = mapped_column(String(20), default="config")
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    head_commit: Mapped[str | None] = mapped_column(String(64))


class RunbookDocument(Base):
    """One Markdown file of the folder, as last synced. `path` is relative to the folder.
    Front matter fields are kept as written; `reviewed_at`/`reviewed_by` are the front matter's
    `last_reviewed` (reviews approved in Watchkeeper live in runbooks_review). `authors` is the
    git history of the file: [{handle, name, email, at, commit}], newest first."""

    __tablename__ = "runbooks_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    services: Mapped[list[str]] = mapped_column(JSONType)
    alerts: Mapped[list[str]] = mapped_column(JSONType)
    owners: Mapped[list[str]] = mapped_column(JSONType)
    reviewers: Mapped[list[str]] = mapped_column(JSONType)
    reviewed_at: Mapped[dt.date | None] = mapped_column(Date)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_every_seconds: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    last_commit: Mapped[str | None] = mapped_column(String(64))
    last_commit_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RunbookReview(Base):
    """A review asked for (`requested`) and, once a reviewer approves, the review on record
    (`approved`): who, when, and which version (`sha256` of the file, `commit` when known)."""

    __tablename__ = "runbooks_review"
    __table_args__ = (Index("ix_runbooks_review_path_id", "path", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(20))  # requested | approved | withdrawn
    requested_by: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reviewer: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sha256: Mapped[str | None] = mapped_column(String(64))
    commit: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class StepRun(Base):
    """One run of an executable step: asked for with confirmation by `requested_by`, run by a
    worker (`runbooks.run_step`), with the exact `command`, its exit status, the captured output
    (truncated to the runner's limit; `truncated` says so) and whether it was killed at its
    timeout. `incident_id` when it was run from an incident."""

    __tablename__ = "runbooks_step_run"
    __table_args__ = (Index("ix_runbooks_step_run_path_id", "path", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(String(512))
    step: Mapped[str] = mapped_column(String(64))
    runner: Mapped[str] = mapped_column(String(64))
    runner_kind: Mapped[str] = mapped_column(String(20))
    command: Mapped[str] = mapped_column(Text)
    services: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20))  # queued | running | succeeded | failed | timed_out
    requested_by: Mapped[str] = mapped_column(String(200))
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    output: Mapped[str | None] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(Text)
