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
    _wire_readiness()
    _wire_alerting()
    _wire_monitoring()


def _wire_readiness() -> None:
    """The readiness gate, the evidence providers of sign-offs and audit suites, and the
    events after which a service's readiness is re-evaluated. Idempotent."""
    from watchkeeper import events
    from watchkeeper.assessments import evidence as assessment_evidence
    from watchkeeper.assessments.events import AuditResultRecorded
    from watchkeeper.catalog import gate
    from watchkeeper.monitoring.events import SignalChanged
    from watchkeeper.readiness import evaluation as readiness_evaluation
    from watchkeeper.readiness import jobs as readiness_jobs
    from watchkeeper.readiness import registry
    from watchkeeper.readiness.events import ReadinessInputChanged
    from watchkeeper.signoffs import evidence as signoff_evidence
    from watchkeeper.signoffs.events import SignoffChanged

    gate.register_gate("readiness", readiness_evaluation.gate)
    for check, single, batch in (
        ("audits_complete", assessment_evidence.audits_complete, assessment_evidence.audits_complete_batch),
        ("security_review", assessment_evidence.security_review, assessment_evidence.security_review_batch),
        ("refine_signoff", signoff_evidence.refine_signoff, signoff_evidence.refine_signoff_batch),
        ("stakeholder_signoff", signoff_evidence.stakeholder_signoff, signoff_evidence.stakeholder_signoff_batch),
    ):
        registry.register_provider(check, single)
        registry.register_batch_provider(check, batch)
    for event_type in (SignoffChanged, AuditResultRecorded, ReadinessInputChanged, SignalChanged):
        events.subscribe(event_type, readiness_jobs.queue_refresh, name="readiness.queue_refresh")
    # Built-in operations/performance audit checks are measured with other domains' evidence.
    from watchkeeper.alerting import evidence as alerting_evidence
    from watchkeeper.assessments import measures
    from watchkeeper.monitoring import evidence as monitoring_evidence

    measures.register_measure("monitors_present", monitoring_evidence.monitoring_active)
    measures.register_measure("slo_attainment", monitoring_evidence.slo_achievable)
    measures.register_measure("probe_latency", monitoring_evidence.probe_latency)
    measures.register_measure("alerting_routed", alerting_evidence.alerting_active)


def _wire_alerting() -> None:
    """The alert pipeline: internal signals become alerts; silences, inhibition and maintenance
    windows plug into alerting's Suppressor port; fire drills answer "alerting_active". Idempotent."""
    from watchkeeper import events
    from watchkeeper.alerting import evidence as alerting_evidence
    from watchkeeper.alerting import inhibition, silences, suppress
    from watchkeeper.alerting import service as alerting
    from watchkeeper.maintenance import service as maintenance
    from watchkeeper.monitoring.events import SignalChanged
    from watchkeeper.readiness import registry

    events.subscribe(SignalChanged, alerting.on_signal_changed, name="alerting.on_signal_changed")
    from watchkeeper.maintenance.events import WindowChanged

    events.subscribe(WindowChanged, alerting.on_window_changed, name="alerting.on_window_changed")
    suppress.register("maintenance", maintenance.suppressor, at_ingest=True)
    suppress.register("silences", silences.suppressor, at_ingest=True)
    suppress.register("inhibition", inhibition.suppressor, at_ingest=False)
    registry.register_provider("alerting_active", alerting_evidence.alerting_active)
    registry.register_batch_provider("alerting_active", alerting_evidence.alerting_active_batch)


def _wire_monitoring() -> None:
    """Monitoring's readiness evidence: "monitoring_active" and "slo_achievable". Idempotent."""
    from watchkeeper.monitoring import evidence as monitoring_evidence
    from watchkeeper.readiness import registry

    for check, single, batch in (
        ("monitoring_active", monitoring_evidence.monitoring_active, monitoring_evidence.monitoring_active_batch),
        ("slo_achievable", monitoring_evidence.slo_achievable, monitoring_evidence.slo_achievable_batch),
    ):
        registry.register_provider(check, single)
        registry.register_batch_provider(check, batch)


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
