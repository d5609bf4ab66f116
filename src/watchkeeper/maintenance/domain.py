"""Maintenance windows: alerts inside them are recorded, not sent (see watchkeeper/domain.py)."""

from watchkeeper.domain import ConfigSection, Domain, Suppressor, Verb

DOMAIN = Domain(
    name="maintenance",
    package="watchkeeper.maintenance",
    models=("watchkeeper.maintenance.models",),
    api=("watchkeeper.maintenance.api:router",),
    cli=(Verb("maintenance", "Maintenance windows: alerts recorded, not sent.",
              "watchkeeper.maintenance.cli:maintenance_app"),),
    config=(ConfigSection(
        "maintenance_windows", "watchkeeper.maintenance.schemas:WindowCreate", "list",
        "Planned maintenance: one-off or recurring (rrule or cron) windows whose alerts are recorded but not sent; "
        "see docs/alerting.md.",
    ),),
    reconcilers="watchkeeper.maintenance.config_sync:RECONCILERS",
    suppressors=(Suppressor("maintenance", "watchkeeper.maintenance.service:suppressor", at_ingest=True),),
)
