"""Backup jobs as declared (Create, also one item of watchkeeper.yaml's `backups:`) and as read.

Secrets never appear here: a restic password or a PostgreSQL DSN is named by the environment
variable that holds it in the worker's environment (`password_env`, `dsn_env`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from watchkeeper import cron
from watchkeeper.durations import Duration
from watchkeeper.validation import Strict, TimeZone

NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
MAX_TIMEOUT = dt.timedelta(hours=24)
_PERCENT_OR_FRACTION = re.compile(r"^(100|[1-9]?[0-9](\.[0-9]{1,2})?)%$|^[1-9][0-9]{0,5}/[1-9][0-9]{0,5}$")

Path = Annotated[str, Field(min_length=1, max_length=4096)]
Arg = Annotated[str, Field(max_length=4096)]


def _no_controls(value: str, what: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{what} contains control characters")
    return value


def _absolute(value: str, what: str) -> str:
    _no_controls(value, what)
    if not value.startswith("/"):
        raise ValueError(f"{what} must be an absolute path, e.g. /srv/data (got {value[:80]!r})")
    return value


class ResticSource(Strict):
    """restic: `restic backup PATHS` into `repository`; the password comes from `password_env`."""

    kind: Literal["restic"] = "restic"
    repository: str = Field(min_length=1, max_length=1000, description="Local path or restic URL, e.g. /srv/restic or sftp:host:/repo.")
    password_env: str = Field(pattern=ENV_NAME, description="Environment variable holding the repository password.")
    paths: list[Path] = Field(min_length=1, max_length=100, description="Absolute paths to back up.")
    excludes: list[Arg] = Field(default_factory=list, max_length=100, description="restic --exclude patterns.")
    tags: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]] = Field(default_factory=list, max_length=20)

    @field_validator("repository")
    @classmethod
    def _repo(cls, value: str) -> str:
        return _no_controls(value, "repository")

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        return [_absolute(v, "each path") for v in value]


class PostgresSource(Strict):
    """postgres: `pg_dump --format=custom` of the database `dsn_env` names, into `directory`."""

    kind: Literal["postgres"] = "postgres"
    dsn_env: str = Field(pattern=ENV_NAME, description="Environment variable holding the libpq DSN or URI.")
    directory: Path = Field(description="Absolute directory the dump files are written to.")

    @field_validator("directory")
    @classmethod
    def _dir(cls, value: str) -> str:
        return _absolute(value, "directory")


class SqliteSource(Strict):
    """sqlite: a consistent copy through SQLite's online backup API, while writers write."""

    kind: Literal["sqlite"] = "sqlite"
    database: Path = Field(description="Absolute path of the SQLite database file.")
    directory: Path = Field(description="Absolute directory the copies are written to.")

    @field_validator("database", "directory")
    @classmethod
    def _abs(cls, value: str, info) -> str:
        return _absolute(value, info.field_name)


class CommandSource(Strict):
    """command: any program (argv, no shell); its exit code and output are recorded."""

    kind: Literal["command"] = "command"
    argv: list[Arg] = Field(min_length=1, max_length=64, description="Program and arguments, e.g. [/usr/local/bin/dump.sh, --all].")

    @field_validator("argv")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        if not value[0]:
            raise ValueError("argv[0] must name a program")
        return [_no_controls(v, "an argument") for v in value]


Source = Annotated[Union[ResticSource, PostgresSource, SqliteSource, CommandSource], Field(discriminator="kind")]


class Retention(Strict):
    """What to keep after each successful backup: restic `forget --keep-* --prune`, or the same
    policy applied to dump files (newest file of each of the last N days/weeks/months)."""

    keep_last: int | None = Field(None, ge=1, le=10000)
    keep_daily: int | None = Field(None, ge=1, le=10000)
    keep_weekly: int | None = Field(None, ge=1, le=10000)
    keep_monthly: int | None = Field(None, ge=1, le=10000)
    keep_yearly: int | None = Field(None, ge=1, le=10000)

    def is_set(self) -> bool:
        return any(v is not None for v in self.model_dump().values())


class RestoreTest(Strict):
    """How the latest backup is restored into a scratch location and verified.

    `command` runs in the scratch directory with WK_RESTORE_PATH (restic: the restored tree;
    sqlite: the restored file) or WK_RESTORE_DSN (postgres: the temporary database) set; it
    passes with exit code 0. `sql` runs on the restored database (postgres, sqlite); its first
    column of its first row, as text, must equal `expect`."""

    schedule: str | None = Field(None, max_length=100, description="Cron line for scheduled restore tests.")
    read_data_subset: str = Field("5%", description="restic check --read-data-subset, e.g. 5% or 1/10.")
    command: list[Arg] | None = Field(None, min_length=1, max_length=64)
    sql: str | None = Field(None, max_length=10000)
    expect: str | None = Field(None, max_length=1000)
    scratch_dsn_env: str | None = Field(None, pattern=ENV_NAME,
                                        description="postgres: server for the temporary database (default: the source's).")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cron.check(value)
            except cron.CronInvalid as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("read_data_subset")
    @classmethod
    def _subset(cls, value: str) -> str:
        if not _PERCENT_OR_FRACTION.match(value):
            raise ValueError(f"read_data_subset {value[:40]!r} is not a percentage like 5% or a fraction like 1/10")
        return value

    @model_validator(mode="after")
    def _expect(self) -> "RestoreTest":
        if (self.sql is None) != (self.expect is None):
            raise ValueError("give sql and expect together, e.g. sql: select count(*) > 0 from orders, expect: 'True'")
        return self


class BackupCreate(Strict):
    """A backup job of a catalog service."""

    name: str = Field(pattern=NAME, description="Unique name, e.g. shop-db.")
    service: str = Field(min_length=1, max_length=100, description="Catalog service whose data this is.")
    source: Source
    schedule: str | None = Field(None, max_length=100, description="Cron line, e.g. '0 3 * * *'; none: on demand only.")
    timezone: TimeZone = Field("UTC", description="Zone the cron lines are read in.")
    timeout: Duration = Field(dt.timedelta(hours=1), description="A run taking longer is stopped and failed; at most 24h.")
    retention: Retention = Field(default_factory=Retention)
    restore_test: RestoreTest = Field(default_factory=RestoreTest)
    enabled: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cron.check(value)
            except cron.CronInvalid as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _shape(self) -> "BackupCreate":
        if not dt.timedelta(seconds=1) <= self.timeout <= MAX_TIMEOUT:
            raise ValueError("timeout must be between 1s and 24h")
        if self.source.kind == "command" and self.retention.is_set():
            raise ValueError("retention applies to restic, postgres and sqlite jobs; a command keeps its own files")
        rt = self.restore_test
        if rt.sql is not None and self.source.kind not in ("postgres", "sqlite"):
            raise ValueError("restore_test.sql needs a postgres or sqlite job; use restore_test.command for files")
        if rt.scratch_dsn_env is not None and self.source.kind != "postgres":
            raise ValueError("restore_test.scratch_dsn_env is for postgres jobs only")
        return self


class BackupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    service: str
    kind: str
    source: dict[str, Any]
    schedule: str | None
    timezone: str
    timeout_seconds: int
    retention: dict[str, Any]
    restore_test: dict[str, Any]
    enabled: bool
    created_by: str
    created_at: dt.datetime
    managed_by: str
    next_backup_at: dt.datetime | None
    next_restore_test_at: dt.datetime | None
    running_run_id: int | None = None


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job: str
    kind: str
    status: str
    trigger: str
    requested_by: str
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_seconds: float | None
    artifact: str | None
    size_bytes: int | None
    data_at: dt.datetime | None
    backup_run_id: int | None
    reason: str | None
    details: dict[str, Any]
    output: str | None = None
