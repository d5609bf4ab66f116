"""The durable notification outbox and its channels (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import Domain, JobSpec, Periodic

DOMAIN = Domain(
    name="notify",
    package="watchkeeper.notify",
    models=("watchkeeper.notify.models",),
    jobs=(
        JobSpec("notify.deliver", "watchkeeper.notify.jobs:deliver", max_attempts=3),
        JobSpec("notify.sweep", "watchkeeper.notify.jobs:sweep", max_attempts=3),
    ),
    periodic=(Periodic("notify-sweep", "notify.sweep", dt.timedelta(seconds=30)),),
    reclaimers=("watchkeeper.notify.jobs:reclaim",),
)
