"""Watchkeeper backs itself up: `watchkeeper backup self` copies its own database (SQLite through
the online backup API, PostgreSQL through pg_dump --format=custom), and `watchkeeper restore`
puts such a copy into a fresh database of the same kind, upgrades its schema and checks the
audit chain. The data directory (secret key, audit signing key) is not in the copy: keep it
with the backup set (docs/runbooks/restore-watchkeeper.md)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.backups import _kinds, _tools
from watchkeeper.errors import InvalidInput

Failed = _kinds.Failed
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def _store(database_url: str) -> tuple[str, object]:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise InvalidInput("the database URL is not a URL; e.g. sqlite:///watchkeeper.db or postgresql+psycopg://…",
                           field="database_url") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(f"cannot back up a {url.get_backend_name()} database; Watchkeeper runs on SQLite or PostgreSQL",
                           field="database_url")
    return url.get_backend_name(), url


def backup_self(*, database_url: str, directory: Path, timeout: float = 3600.0) -> _kinds.Outcome:
    """Copy Watchkeeper's own database into `directory`. Raises Failed with the reason."""
    kind, url = _store(database_url)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = clock.utcnow().astimezone(dt.timezone.utc).strftime(_kinds.STAMP)
    out = _kinds.Outcome()
    deadline = _kinds.Deadline(timeout)
    if kind == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InvalidInput("an in-memory SQLite database cannot be backed up", field="database_url")
        _kinds.sqlite_copy(url.database, directory / f"watchkeeper-{stamp}.sqlite3", out, deadline)
    else:
        _kinds.pg_dump_to(url.render_as_string(hide_password=False), directory / f"watchkeeper-{stamp}.dump", out, deadline)
    return out


def record_backup(session: Session, *, actor: Actor, outcome: _kinds.Outcome) -> None:
    """Audit a self-backup (in the database that was copied, after the copy). Does not commit."""
    require(actor, "backup.run")
    audit.record(session, actor=actor, action="backup.self", target="watchkeeper:database",
                 after={"file": os.path.basename(outcome.artifact or ""), "size_bytes": outcome.size_bytes})


def record_restore(session: Session, *, actor: Actor, backup: Path, report) -> None:
    """Audit a restore, in the restored database, after its chain verified. Does not commit."""
    require(actor, "backup.restore")
    audit.record(session, actor=actor, action="backup.restore", target="watchkeeper:database",
                 after={"file": backup.name, "events_verified": report.events_checked})


def restore_self(*, backup: Path, database_url: str, timeout: float = 3600.0) -> _kinds.Outcome:
    """Put a `backup_self` copy into a fresh database at `database_url` (SQLite: a file that does
    not exist yet; PostgreSQL: an existing database with no tables). Raises Failed or
    InvalidInput with the reason; never overwrites data."""
    kind, url = _store(database_url)
    if not backup.is_file():
        raise InvalidInput(f"{backup} is not a file", field="backup")
    with backup.open("rb") as f:
        head = f.read(16)
    found = "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head.startswith(PG_MAGIC) else None
    if found is None:
        raise InvalidInput(f"{backup} is neither a SQLite database nor a pg_dump custom-format file", field="backup")
    if found != kind:
        raise InvalidInput(f"{backup} is a {found} backup; restore it into a {found} database, not {kind}", field="database_url")
    out = _kinds.Outcome()
    deadline = _kinds.Deadline(timeout)
    if kind == "sqlite":
        target = Path(url.database or "")
        if not url.database or (target.exists() and target.stat().st_size > 0):
            raise InvalidInput(f"{url.database} exists; restore into a new file (a restore never overwrites a database)",
                               field="database_url")
        _kinds.sqlite_copy(str(backup), target, out, deadline)
        for suffix in ("-wal", "-shm"):  # stale files of an earlier database at that path would be read with it
            Path(str(target) + suffix).unlink(missing_ok=True)
        return out
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conninfo, env, hidden = _kinds.split_dsn(dsn)
    try:
        with psycopg.connect(dsn, connect_timeout=30) as conn:
            tables = conn.execute("select count(*) from information_schema.tables where table_schema = 'public'").fetchone()[0]
    except psycopg.Error as exc:
        raise Failed(f"cannot connect to the target database: {str(exc).splitlines()[0][:200]}") from None
    if tables:
        raise InvalidInput(f"database '{url.database}' has {tables} tables; restore into a fresh, empty database", field="database_url")
    result = _tools.run([_kinds.PG_RESTORE, "--exit-on-error", "--no-owner", "--no-acl", f"--dbname={conninfo}", str(backup)],
                        timeout=deadline.left(), env=env, secrets=hidden)
    out.output.append(result.output)
    if not result.ok:
        raise Failed(f"pg_restore: {result.why()}")
    out.artifact, out.size_bytes = str(backup), backup.stat().st_size
    return out
