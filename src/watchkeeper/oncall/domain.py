"""On-call: schedules, overrides, escalation policies, coverage (see watchkeeper/domain.py)."""

from watchkeeper.domain import Domain, Provider

DOMAIN = Domain(
    name="oncall",
    package="watchkeeper.oncall",
    models=("watchkeeper.oncall.models",),
    providers=(Provider("oncall_coverage", "watchkeeper.oncall.evidence:oncall_coverage",
                        "watchkeeper.oncall.evidence:oncall_coverage_batch"),),
)
