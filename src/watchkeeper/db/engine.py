"""Engine and session factory for SQLite (embedded default) and PostgreSQL (scale-out).

SQLite runs in WAL mode with foreign keys on and a busy timeout, and every transaction
starts with BEGIN IMMEDIATE: writers queue for the lock up front instead of failing with
"database is locked" when a read snapshot turns stale halfway through a write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper.errors import InvalidInput

BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - any parse failure is the user's URL
        raise InvalidInput(
            f"database URL {url!r} is not valid; use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
            field="database_url",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            parsed, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        _configure_postgresql(engine)
        return engine
    raise InvalidInput(
        f"database backend {backend!r} is not supported; use sqlite:///PATH or postgresql+psycopg://...",
        field="database_url",
    )


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # psycopg prepares a statement once it has run a few times, and PostgreSQL may then
        # keep one generic plan for it. A generic plan made while a table was small (a
        # sequential scan) stays cached as the table grows: ingest's `fingerprint = ANY(...)`
        # lookups went from 0.6 ms to 6 ms per batch over 15,000 alerts and kept growing.
        # Custom plans cost a re-plan per execution (tens of microseconds) and always fit the
        # data; statements are still parsed once.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.commit()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the driver so BEGIN IMMEDIATE and SAVEPOINT work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits when the block ends and rolls back when it raises: the unit
    of work of an API request and of a CLI command. Closed either way."""
    session = session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def writer_threads(session_factory: sessionmaker[Session]) -> int:
    """How many group-commit writer threads (pings, alert ingest) a process should run: 2 for
    a PostgreSQL engine, so one batch runs its statements while the other waits for its
    commit; 1 for SQLite, which lets one transaction write at a time anyway (a second thread
    would only wait for the lock), and 1 for a factory bound to a single connection (tests),
    which cannot hold two transactions at once."""
    bind = session_factory.kw.get("bind")
    return 2 if isinstance(bind, Engine) and bind.dialect.name == "postgresql" else 1


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def close_quietly(conn: Connection | None) -> None:
    """Close a dedicated connection (one that holds a session-level advisory lock) whose server
    may already be gone; closing it is what releases the lock. Returns None, to assign back."""
    if conn is not None:
        try:
            conn.close()
        except SQLAlchemyError:
            pass
    return None
