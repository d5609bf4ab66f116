"""The job queue: its tables, its housekeeping jobs, the jobs API and page (see
watchkeeper/domain.py). The worker that runs jobs is an adapter (watchkeeper/worker)."""

import datetime as dt

from watchkeeper.domain import Domain, JobSpec, NavLink, Periodic

DOMAIN = Domain(
    name="queue",
    package="watchkeeper.queue",
    models=("watchkeeper.queue.models",),
    jobs=(
        JobSpec("worker.prune", "watchkeeper.queue.jobs:prune", max_attempts=3),
        JobSpec("worker.echo", "watchkeeper.queue.jobs:echo"),
    ),
    periodic=(Periodic("worker-prune", "worker.prune", dt.timedelta(hours=6)),),
    api=("watchkeeper.queue.api:router",),
    pages=("watchkeeper.web.system_pages:router",),
    nav=(NavLink("Jobs", "/jobs", 95, "more"),),
)
