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

    def __post_init__(self) -> None:
        # Every session of this process re-signs the audit chain head as it writes an event
        # (audit/service.py): the key is the process's, loaded on first use.
        from watchkeeper.audit.service import SIGNER_INFO
        from watchkeeper.audit.signing import LazySigner

        info = dict(self.session_factory.kw.get("info") or {})
        info[SIGNER_INFO] = LazySigner(self.settings.audit_key_path())
        self.session_factory.configure(info=info)

    def session(self) -> Session:
        return self.session_factory()

    def dispose(self) -> None:
        self.engine.dispose()


def build(settings: Settings, *, engine: Engine | None = None, session_factory: sessionmaker | None = None) -> Container:
    """The container for one process, its domains wired (watchkeeper/domains.py lists them)."""
    engine = engine or make_engine(settings.database_url)
    container = Container(settings=settings, engine=engine, session_factory=session_factory or make_session_factory(engine))
    wire(container)
    return container


def wire(container: Container | None) -> None:
    """Plug every domain's ports in, from the descriptors (watchkeeper/domains.py): readiness
    evidence providers, audit measures, promotion gates, event subscriptions, alert suppressors.
    The domains never know about each other; only this function reads across them.

    The one deliberate exception to "everything lives in the container": these registries are
    process-wide (events, readiness/registry.py, assessments/measures.py, catalog/gate.py,
    alerting/suppress.py), because an event is published from deep inside a service function
    that is given a session, not a container. They are filled only here, keyed by name, so
    wiring twice — every `build()`, every test — leaves them exactly as wiring once. Tests that
    add or remove a port take a snapshot and restore it (tests/conftest.py)."""
    from watchkeeper import domains, events
    from watchkeeper.alerting import suppress
    from watchkeeper.assessments import measures
    from watchkeeper.catalog import gate
    from watchkeeper.domain import resolve
    from watchkeeper.readiness import registry

    for domain in domains.all():
        for p in domain.providers:
            registry.register_provider(p.check, resolve(p.single))
            if p.batch:
                registry.register_batch_provider(p.check, resolve(p.batch))
        for m in domain.measures:
            measures.register_measure(m.check, resolve(m.measure))
        for g in domain.gates:
            gate.register_gate(g.name, resolve(g.gate))
        for sub in domain.subscriptions:
            events.subscribe(resolve(sub.event), resolve(sub.handler), name=sub.name)
        for sup in domain.suppressors:
            suppress.register(sup.name, resolve(sup.source), at_ingest=sup.at_ingest)


def worker(container: Container, *, with_loops: bool = False, **overrides):
    """A worker over the container's store with every domain's jobs, periodic schedules and
    reclaimers (and, with `with_loops`, their long-running loops such as the probe runner).
    `overrides` replace any of Worker's arguments (tests give a session factory or jobs)."""
    from watchkeeper import domains
    from watchkeeper.worker.runner import Worker

    kwargs = dict(
        engine=container.engine, session_factory=container.session_factory, settings=container.settings,
        jobs=domains.jobs(), periodic=domains.periodic(), reclaimers=domains.reclaimers(),
        loops=domains.loops() if with_loops else [],
    )
    kwargs.update(overrides)
    return Worker(**kwargs)


def prepare_database(container: Container) -> str | None:
    """Migrate to the newest schema and create the first admin on an empty database.

    Returns the first admin's one-time password when one was created, else None.
    """
    from watchkeeper.auth import service as auth

    with migrate.exclusive(container.engine):
        migrate.upgrade(container.engine)
        with container.session() as session:
            password = auth.ensure_first_admin(session)
            session.commit()
    return password
