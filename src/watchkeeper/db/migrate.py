"""Run Alembic migrations programmatically (the CLI, `serve` start-up and tests use this)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@contextlib.contextmanager
def exclusive(engine: Engine, name: str = "migrate") -> Iterator[None]:
    """Hold a cluster-wide lock while preparing the database, so that several processes
    starting together on PostgreSQL do not race to create tables or the first admin.
    (SQLite needs none: the whole upgrade is one transaction that starts with BEGIN IMMEDIATE,
    see migrations/env.py, and creating the first admin is another.)"""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = int.from_bytes(hashlib.sha256(f"watchkeeper:{name}".encode()).digest()[:8], "big", signed=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def upgrade(engine: Engine, revision: str = "heads") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def heads() -> set[str]:
    """The revisions alembic_version holds once every migration has run. A branch head that a
    revision of another branch `depends_on` is not among them: alembic replaces its row with the
    dependent's."""
    return set(ScriptDirectory.from_config(_script_config()).get_heads(consider_depends_on=True))


def current(bind: Engine | Connection) -> set[str]:
    if isinstance(bind, Connection):
        return set(MigrationContext.configure(bind).get_current_heads())
    with bind.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_current(bind: Engine | Connection) -> bool:
    return current(bind) == heads()


def _script_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg
