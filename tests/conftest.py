"""Shared fixtures: real SQLite files and a real PostgreSQL database, savepoint-per-test
sessions, the app wired to the test session, personas, and a frozen clock.

PostgreSQL: each test run creates its own database (wk_test_<random>) on the server named by
WATCHKEEPER_TEST_PG_URL (default: the local `test` database, trust auth) and drops it at the
end, so parallel runs never collide. Locally the PostgreSQL tests skip when the server is not
reachable; with WATCHKEEPER_TEST_REQUIRE_PG=1 (set by .ci/run) they fail instead.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper import clock
from watchkeeper.app import Container
from watchkeeper.config import Settings
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine

PG_URL = os.environ.get("WATCHKEEPER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("WATCHKEEPER_TEST_REQUIRE_PG") == "1"
BACKENDS = ["sqlite", "postgresql"]


class PgServer:
    """Creates throwaway databases on the test PostgreSQL server."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.created: list[str] = []
        self.error: str | None = None
        try:
            self._admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001
            self.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            self._admin = None

    def new_database(self, prefix: str = "wk_test") -> str:
        if self._admin is None:
            message = f"PostgreSQL at {self.url.render_as_string(hide_password=True)} is not reachable ({self.error})"
            if REQUIRE_PG:
                pytest.fail(message + "; WATCHKEEPER_TEST_REQUIRE_PG=1 makes this a failure", pytrace=False)
            pytest.skip(message)
        name = f"{prefix}_{secrets.token_hex(4)}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def production_wiring():
    """Every test sees the same ports and subscriptions as production, whatever ran before it."""
    from watchkeeper import app as composition

    composition.wire(None)


@pytest.fixture
def no_gates(monkeypatch):
    """For tests of the stage rules alone: no promotion gate is registered."""
    from watchkeeper.catalog import gate

    monkeypatch.setattr(gate, "_gates", {})


@pytest.fixture
def readiness_wiring(request):
    """The composition root's readiness wiring (gate, providers, measures) for a test that uses a
    database; providers or measures the test adds are removed afterwards."""
    from watchkeeper.assessments import measures
    from watchkeeper.readiness import registry

    saved, saved_measures = registry.snapshot(), measures.snapshot()
    if "session" in request.fixturenames:
        request.getfixturevalue("container")
    yield
    registry.restore(saved)
    measures.restore(saved_measures)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer(PG_URL)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wk")


def database_url(backend: str, pg_server: PgServer, directory: Path) -> str:
    """A fresh, empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'wk-{secrets.token_hex(4)}.db'}"
    return pg_server.new_database()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def migrated_engine(backend: str, pg_server: PgServer, tmp_root: Path) -> Iterator[Engine]:
    """One database per backend per run, built with `alembic upgrade heads` (this tests the
    migrations on every run)."""
    engine = make_engine(database_url(backend, pg_server, tmp_root))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_url(backend: str, pg_server: PgServer, tmp_path: Path) -> str:
    """An empty database of its own, for tests that need several connections or processes."""
    return database_url(backend, pg_server, tmp_path)


@pytest.fixture
def connection(migrated_engine: Engine):
    conn = migrated_engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    """Sessions that share the test's connection; their commits are savepoint releases that the
    test's outer transaction rolls back at the end."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path, migrated_engine: Engine) -> Settings:
    return Settings(
        database_url=migrated_engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",
        worker_poll_seconds=0.05,
    )


@pytest.fixture
def container(settings: Settings, migrated_engine: Engine, session_factory) -> Container:
    # Wiring happened once for the session (production_wiring); tests may then narrow it.
    return Container(settings=settings, engine=migrated_engine, session_factory=session_factory)


@pytest.fixture
def app(container):
    from watchkeeper.api.app import create_app

    return create_app(container)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def frozen_clock() -> Iterator[dt.datetime]:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
    clock.set_frozen(start)
    yield start
    clock.set_frozen(None)


@pytest.fixture
def system_actor():
    from watchkeeper.auth.service import Actor

    return Actor.system("test", "system")


@pytest.fixture
def personas(session, system_actor):
    """alice operates team payments, bob responds for payments, carol has no grants,
    root is a global admin, audrey is an auditor. Each comes with an API token."""
    from tests.factories.auth import make_persona
    from tests.factories.catalog import make_team

    make_team(session, name="payments")
    make_team(session, name="search")
    people = {
        "alice": make_persona(session, "alice", ["operator@team:payments"]),
        "bob": make_persona(session, "bob", ["responder@team:payments"]),
        "carol": make_persona(session, "carol", []),
        "root": make_persona(session, "root", ["admin"]),
        "audrey": make_persona(session, "audrey", ["auditor"]),
    }
    session.commit()
    return people
