"""The alert pipeline: ingest, grouping, silences, inhibition, routing, drills (see
watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import (
    ConfigSection, Domain, JobSpec, Measure, NavLink, PanelSpec, Periodic, Provider, Subscription, Suppressor, Verb,
)

DOMAIN = Domain(
    name="alerting",
    package="watchkeeper.alerting",
    panels=(PanelSpec("alerts", 10, "watchkeeper.alerting.panels:overview", "watchkeeper.alerting.panels:for_service"),),
    models=("watchkeeper.alerting.models",),
    jobs=(
        JobSpec("alerting.flush", "watchkeeper.alerting.jobs:flush", max_attempts=5),
        JobSpec("alerting.expire_drills", "watchkeeper.alerting.jobs:expire_drills", max_attempts=3),
    ),
    periodic=(Periodic("alerting-drills", "alerting.expire_drills", dt.timedelta(minutes=1)),),
    api=("watchkeeper.alerting.api:router",),
    pages=("watchkeeper.web.alerting_pages:router",),
    nav=(NavLink("Alerts", "/alerts?status=firing", 30), NavLink("Silences", "/silences", 70, "more"),),
    cli=(
        Verb("alert", "Alerts: list, ack, resolve, route, drills, quality.",
             "watchkeeper.alerting.cli:alert_app"),
        Verb("silence", "Silences: matchers that keep alerts quiet.", "watchkeeper.alerting.cli:silence_app"),
    ),
    config=(ConfigSection(
        "alerting", "watchkeeper.alerting.schemas:AlertingConfig", "optional",
        "The alert pipeline: receivers (email, webhook, chat), the route tree, inhibit rules, delivery retries. "
        "Omitted: alerting config in the database is left as it is.",
    ),),
    reconcilers="watchkeeper.alerting.config_sync:RECONCILERS",
    providers=(Provider("alerting_active", "watchkeeper.alerting.evidence:alerting_active",
                        "watchkeeper.alerting.evidence:alerting_active_batch"),),
    measures=(Measure("alerting_routed", "watchkeeper.alerting.evidence:alerting_active"),),
    # Internal signals become alerts; a changed maintenance window re-judges firing alerts.
    subscriptions=(
        Subscription("watchkeeper.signals.events:SignalChanged", "watchkeeper.alerting.service:on_signal_changed",
                     "alerting.on_signal_changed"),
        Subscription("watchkeeper.maintenance.events:WindowChanged", "watchkeeper.alerting.service:on_window_changed",
                     "alerting.on_window_changed"),
        # An alert that resolves ends the on-call escalation of a group with nothing left firing.
        Subscription("watchkeeper.alerting.events:AlertStatusChanged", "watchkeeper.alerting.escalations:on_status_changed",
                     "alerting.escalations.on_status_changed"),
        Subscription("watchkeeper.oncall.events:ResponseTargetMissed",
                     "watchkeeper.alerting.escalations:on_response_target_missed", "alerting.escalations.on_target_missed"),
    ),
    suppressors=(
        Suppressor("silences", "watchkeeper.alerting.silences:suppressor", at_ingest=True),
        Suppressor("inhibition", "watchkeeper.alerting.inhibition:suppressor", at_ingest=False),
    ),
)
