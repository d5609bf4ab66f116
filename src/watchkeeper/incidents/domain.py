"""Incidents: declare, lifecycle, roles, timeline, status page, postmortems, review (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import (
    ConfigSection,
    Domain,
    JobSpec,
    NavLink,
    PanelSpec,
    Periodic,
    Provider,
    Subscription,
    Verb,
)

DOMAIN = Domain(
    name="incidents",
    package="watchkeeper.incidents",
    models=("watchkeeper.incidents.models",),
    jobs=(JobSpec("incidents.verify_action_items", "watchkeeper.incidents.jobs:verify_action_items", max_attempts=3),
          JobSpec("incidents.weekly_review_email", "watchkeeper.incidents.jobs:weekly_review_email", max_attempts=3)),
    periodic=(Periodic("incidents-verify", "incidents.verify_action_items", dt.timedelta(hours=1)),
              Periodic("incidents-review-email", "incidents.weekly_review_email", dt.timedelta(hours=1))),
    api=("watchkeeper.incidents.api:router", "watchkeeper.incidents.api:status_router"),
    pages=("watchkeeper.web.incidents_pages:router",),
    nav=(NavLink("Incidents", "/incidents", 25),),
    panels=(PanelSpec("incidents", 5, "watchkeeper.incidents.panels:overview", "watchkeeper.incidents.panels:for_service"),),
    cli=(Verb("incident", "Incidents: declare, follow, update, resolve, review.", "watchkeeper.incidents.cli:incident_app"),),
    config=(ConfigSection(
        "incidents", "watchkeeper.incidents.schemas:IncidentsConfig", "optional",
        "Incident severities (SEV1–SEV4: meaning, paging, ack/resolve targets), auto-declare policies, the public "
        "status page, the incident-process document and postmortem rules; see docs/incidents.md. Omitted: the "
        "stored incident settings are left as they are.",
    ),),
    reconcilers="watchkeeper.incidents.config_sync:RECONCILERS",
    providers=(Provider("incident_process", "watchkeeper.incidents.evidence:incident_process",
                        "watchkeeper.incidents.evidence:incident_process_batch"),),
    # Alerts attach to and declare incidents; every domain's ServiceActivity lands on the timeline.
    subscriptions=(
        Subscription("watchkeeper.alerting.events:AlertStatusChanged", "watchkeeper.incidents.declare:on_alert_status_changed",
                     "incidents.on_alert_status_changed"),
        Subscription("watchkeeper.alerting.events:AlertAcknowledged", "watchkeeper.incidents.declare:on_alert_acknowledged",
                     "incidents.on_alert_acknowledged"),
        Subscription("watchkeeper.events:ServiceActivity", "watchkeeper.incidents.declare:on_service_activity",
                     "incidents.on_service_activity"),
    ),
)
