"""The readiness gate: checklists, waivers, attestations, continuous evaluation (see
watchkeeper/domain.py). Other domains' evidence reaches it through their descriptors' providers."""

import datetime as dt

from watchkeeper.domain import (
    ConfigSection, Domain, Gate, JobSpec, NavLink, PanelSpec, Periodic, Subscription, Verb,
)

_REFRESH = "watchkeeper.readiness.jobs:queue_refresh"

DOMAIN = Domain(
    name="readiness",
    package="watchkeeper.readiness",
    panels=(PanelSpec("readiness", 20, "watchkeeper.readiness.panels:overview", "watchkeeper.readiness.panels:for_service"),),
    models=("watchkeeper.readiness.models",),
    jobs=(JobSpec("readiness.refresh", "watchkeeper.readiness.jobs:refresh", max_attempts=3),),
    periodic=(Periodic("readiness-refresh", "readiness.refresh", dt.timedelta(minutes=5)),),
    api=("watchkeeper.readiness.api:router",),
    pages=("watchkeeper.web.readiness_pages:router",),
    nav=(NavLink("Readiness", "/readiness", 60),),
    cli=(Verb("readiness", "The readiness gate: checklists, waivers, scorecard.",
              "watchkeeper.readiness.cli:readiness_app"),),
    config=(ConfigSection(
        "readiness", "watchkeeper.readiness.schemas:ReadinessConfig", "object",
        "The readiness gate: checklist tuning per stage and tier, stakeholder roles, waivers, attestations.",
    ),),
    reconcilers="watchkeeper.readiness.reconcile:RECONCILERS",
    gates=(Gate("readiness", "watchkeeper.readiness.evaluation:gate"),),
    # A service's readiness is re-evaluated soon after any of its evidence changes.
    subscriptions=(
        Subscription("watchkeeper.signoffs.events:SignoffChanged", _REFRESH, "readiness.queue_refresh"),
        Subscription("watchkeeper.assessments.events:AuditResultRecorded", _REFRESH, "readiness.queue_refresh"),
        Subscription("watchkeeper.readiness.events:ReadinessInputChanged", _REFRESH, "readiness.queue_refresh"),
        Subscription("watchkeeper.signals.events:SignalChanged", _REFRESH, "readiness.queue_refresh"),
    ),
)
