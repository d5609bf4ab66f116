"""Maintenance windows: alerts inside them are recorded, not sent (see watchkeeper/domain.py)."""

from watchkeeper.domain import ConfigSection, Domain, NavLink, PanelSpec, Suppressor, Verb

DOMAIN = Domain(
    name="maintenance",
    package="watchkeeper.maintenance",
    panels=(PanelSpec("maintenance", 50, "watchkeeper.maintenance.panels:overview", "watchkeeper.maintenance.panels:for_service"),),
    models=("watchkeeper.maintenance.models",),
    api=("watchkeeper.maintenance.api:router",),
    nav=(NavLink("Maintenance", "/maintenance", 80, "more"),),  # the page is served by web/alerting_pages
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
