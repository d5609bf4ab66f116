"""Audit suites, levels, findings and the built-in checks (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import Domain, JobSpec, Periodic, Provider, Verb

DOMAIN = Domain(
    name="assessments",
    package="watchkeeper.assessments",
    models=("watchkeeper.assessments.models",),
    jobs=(
        JobSpec("assessments.schedule", "watchkeeper.assessments.jobs:schedule", max_attempts=3),
        JobSpec("assessments.run", "watchkeeper.assessments.jobs:run", max_attempts=2),
    ),
    periodic=(Periodic("assessments-daily", "assessments.schedule", dt.timedelta(days=1)),),
    api=("watchkeeper.assessments.api:router",),
    cli=(Verb("audit", "", "watchkeeper.assessments.cli:extend_audit", extends=True),),
    providers=(
        Provider("audits_complete", "watchkeeper.assessments.evidence:audits_complete",
                 "watchkeeper.assessments.evidence:audits_complete_batch"),
        Provider("security_review", "watchkeeper.assessments.evidence:security_review",
                 "watchkeeper.assessments.evidence:security_review_batch"),
    ),
)
