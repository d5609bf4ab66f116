"""Composition root: settings → engine → session factory → wiring of ports.

Every entry point (serve, worker, CLI commands, tests) builds one `Container` and passes it
down. Nothing else creates engines or reads settings.
"""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper.config import Settings
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    def session(self) -> Session:
        return self.session_factory()

    def dispose(self) -> None:
        self.engine.dispose()


def build(settings: Settings, *, engine: Engine | None = None, session_factory: sessionmaker | None = None) -> Container:
    engine = engine or make_engine(settings.database_url)
    container = Container(settings=settings, engine=engine, session_factory=session_factory or make_session_factory(engine))
    wire(container)
    return container


def wire(container: Container) -> None:
    """Connect ports to their implementations. Later domains plug in here (readiness gate,
    suppressors, evidence providers); the domains themselves never know about each other."""


def prepare_database(container: Container) -> str | None:
    """Migrate to the newest schema and create the first admin on an empty database.

    Returns the first admin's one-time password when one was created, else None.
    """
    from watchkeeper.auth import service as auth

    migrate.upgrade(container.engine)
    with container.session() as session:
        password = auth.ensure_first_admin(session)
        session.commit()
    return password
