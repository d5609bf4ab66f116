"""Every job kind and periodic job, listed explicitly (no registration by import side effect).

A handler is `(session, payload, ctx) -> result | None`. Its writes and the job's completion
commit in one transaction. Periodic jobs are enqueued by the leader's scheduler duty.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.alerting import jobs as alerting_jobs
from watchkeeper.audit import jobs as audit_jobs
from watchkeeper.assessments import jobs as assessments_jobs
from watchkeeper.auth import jobs as auth_jobs
from watchkeeper.notify import jobs as notify_jobs
from watchkeeper.readiness import jobs as readiness_jobs
from watchkeeper.monitoring import jobs as monitoring_jobs
from watchkeeper.worker import jobs as worker_jobs
from watchkeeper.worker.context import JobContext

Handler = Callable[[Session, dict[str, Any], JobContext], Any]


@dataclasses.dataclass(frozen=True)
class JobSpec:
    kind: str
    handler: Handler
    max_attempts: int = 5


@dataclasses.dataclass(frozen=True)
class Periodic:
    name: str
    kind: str
    every: dt.timedelta
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


JOBS: dict[str, JobSpec] = {
    spec.kind: spec
    for spec in [
        JobSpec("audit.checkpoint", audit_jobs.checkpoint, max_attempts=3),
        JobSpec("auth.prune", auth_jobs.prune, max_attempts=3),
        JobSpec("worker.prune", worker_jobs.prune, max_attempts=3),
        JobSpec("worker.echo", worker_jobs.echo),
        JobSpec("alerting.flush", alerting_jobs.flush, max_attempts=5),
        JobSpec("alerting.expire_drills", alerting_jobs.expire_drills, max_attempts=3),
        JobSpec("notify.deliver", notify_jobs.deliver, max_attempts=3),
        JobSpec("notify.sweep", notify_jobs.sweep, max_attempts=3),
        JobSpec("readiness.refresh", readiness_jobs.refresh, max_attempts=3),
        JobSpec("assessments.schedule", assessments_jobs.schedule, max_attempts=3),
        JobSpec("assessments.run", assessments_jobs.run, max_attempts=2),
        JobSpec("monitoring.heartbeats", monitoring_jobs.heartbeats, max_attempts=2),
        JobSpec("monitoring.rules", monitoring_jobs.evaluate_rules, max_attempts=2),
        JobSpec("monitoring.slos", monitoring_jobs.evaluate_slos, max_attempts=2),
        JobSpec("monitoring.rollup", monitoring_jobs.rollup, max_attempts=3),
        JobSpec("monitoring.prune", monitoring_jobs.prune, max_attempts=3),
    ]
}

PERIODIC: list[Periodic] = [
    Periodic("audit-checkpoint", "audit.checkpoint", dt.timedelta(minutes=5)),
    Periodic("auth-prune", "auth.prune", dt.timedelta(hours=1)),
    Periodic("worker-prune", "worker.prune", dt.timedelta(hours=6)),
    Periodic("notify-sweep", "notify.sweep", dt.timedelta(seconds=30)),
    Periodic("alerting-drills", "alerting.expire_drills", dt.timedelta(minutes=1)),
    Periodic("readiness-refresh", "readiness.refresh", dt.timedelta(minutes=5)),
    Periodic("assessments-daily", "assessments.schedule", dt.timedelta(days=1)),
    Periodic("monitoring-heartbeats", "monitoring.heartbeats", monitoring_jobs.EVERY["monitoring.heartbeats"]),
    Periodic("monitoring-rules", "monitoring.rules", monitoring_jobs.EVERY["monitoring.rules"]),
    Periodic("monitoring-slos", "monitoring.slos", monitoring_jobs.EVERY["monitoring.slos"]),
    Periodic("monitoring-rollup", "monitoring.rollup", monitoring_jobs.EVERY["monitoring.rollup"]),
    Periodic("monitoring-prune", "monitoring.prune", monitoring_jobs.EVERY["monitoring.prune"]),
]


@dataclasses.dataclass(frozen=True)
class Loop:
    """A long-running companion of the job loop (e.g. the probe runner), started in its own
    thread by `Worker.run` when the worker is given `loops`. `run(engine=, session_factory=,
    settings=, stop=, worker_id=)` returns once `stop` is set."""

    name: str
    run: Callable[..., None]


def _probe_loop(**kwargs: Any) -> None:
    from watchkeeper.monitoring.probes.runner import run_probe_loop

    run_probe_loop(**kwargs)


LOOPS: list[Loop] = [
    Loop("probes", _probe_loop),
]


# Run by every worker's liveness sweep, in its transaction, after a worker process died: each
# takes back what the dead process had claimed in its domain (jobs are the worker's own).
RECLAIMERS: list[Callable[[Session], Any]] = [
    notify_jobs.reclaim,
]


def register(spec: JobSpec) -> None:
    """For tests and plugins: add a job kind at run time."""
    JOBS[spec.kind] = spec
