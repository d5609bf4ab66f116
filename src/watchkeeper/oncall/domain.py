"""On-call: schedules, overrides, escalation policies, coverage (see watchkeeper/domain.py)."""

from watchkeeper.domain import Domain

DOMAIN = Domain(
    name="oncall",
    package="watchkeeper.oncall",
    models=("watchkeeper.oncall.models",),
)
