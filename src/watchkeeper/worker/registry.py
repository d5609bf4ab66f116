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

from watchkeeper.audit import jobs as audit_jobs
from watchkeeper.auth import jobs as auth_jobs
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
    ]
}

PERIODIC: list[Periodic] = [
    Periodic("audit-checkpoint", "audit.checkpoint", dt.timedelta(minutes=5)),
    Periodic("auth-prune", "auth.prune", dt.timedelta(hours=1)),
    Periodic("worker-prune", "worker.prune", dt.timedelta(hours=6)),
]


def register(spec: JobSpec) -> None:
    """For tests and plugins: add a job kind at run time."""
    JOBS[spec.kind] = spec
