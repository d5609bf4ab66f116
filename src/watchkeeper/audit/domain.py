"""The audit log's parts (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import Domain, JobSpec, NavLink, PanelSpec, Periodic, Verb

DOMAIN = Domain(
    name="audit",
    package="watchkeeper.audit",
    panels=(PanelSpec("changes", 90, service="watchkeeper.audit.panels:for_service"),),
    models=("watchkeeper.audit.models",),
    jobs=(JobSpec("audit.checkpoint", "watchkeeper.audit.jobs:checkpoint", max_attempts=3),),
    periodic=(Periodic("audit-checkpoint", "audit.checkpoint", dt.timedelta(minutes=5)),),
    api=("watchkeeper.audit.api:router",),
    pages=("watchkeeper.web.audit_pages:router",),
    nav=(NavLink("Audit log", "/audit", 90, "more", permission="audit.read"),),
    cli=(Verb("audit", "The tamper-evident audit log; audit suites.", "watchkeeper.audit.cli:audit_app"),),
)
