"""Teams, people, services, dependencies and stages (see watchkeeper/domain.py)."""

from watchkeeper.domain import ConfigSection, Domain, NavLink, PanelSpec, Verb

DOMAIN = Domain(
    name="catalog",
    package="watchkeeper.catalog",
    panels=(PanelSpec("dependencies", 60, service="watchkeeper.catalog.panels:for_service"),),
    models=("watchkeeper.catalog.models",),
    api=("watchkeeper.catalog.api:router",),
    pages=("watchkeeper.web.catalog_pages:router",),
    nav=(NavLink("Services", "/services", 20),),
    cli=(
        Verb("service", "The service catalog: list, show, demote, delete.", "watchkeeper.catalog.cli:service_app"),
        Verb("team", "Teams and their members.", "watchkeeper.catalog.cli:team_app"),
        Verb("promote", "Promote a service one stage up, through the gate.", "watchkeeper.catalog.cli:promote"),
    ),
    config=(
        ConfigSection("people", "watchkeeper.catalog.schemas:PersonCreate", "list", "People who can own, review and be paged."),
        ConfigSection("teams", "watchkeeper.catalog.schemas:TeamCreate", "list", "Teams that own services."),
        ConfigSection("services", "watchkeeper.catalog.schemas:ServiceCreate", "list", "The service catalog."),
    ),
    reconcilers="watchkeeper.catalog.config_sync:RECONCILERS",
)
