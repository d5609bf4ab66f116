"""The shape of watchkeeper.yaml. Each domain contributes its section's models."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from watchkeeper.alerting.schemas import AlertingConfig
from watchkeeper.catalog.schemas import PersonCreate, ServiceCreate, TeamCreate
from watchkeeper.maintenance.schemas import WindowCreate
from watchkeeper.monitoring.metrics.schemas import RuleCreate
from watchkeeper.monitoring.probes.schemas import MonitorCreate
from watchkeeper.monitoring.slos.schemas import SloCreate
from watchkeeper.readiness.schemas import ReadinessConfig
from watchkeeper.validation import Strict


class WatchkeeperConfig(Strict):
    """Everything Watchkeeper manages as code. Objects declared here are owned by the file:
    `apply` creates, updates and deletes them. Objects made at run time are never touched."""

    model_config = ConfigDict(title="watchkeeper.yaml")

    version: Literal[1] = Field(1, description="Format version of this file.")
    people: list[PersonCreate] = Field(default_factory=list, description="People who can own, review and be paged.")
    teams: list[TeamCreate] = Field(default_factory=list, description="Teams that own services.")
    services: list[ServiceCreate] = Field(default_factory=list, description="The service catalog.")
    readiness: ReadinessConfig = Field(
        default_factory=ReadinessConfig,
        description="The readiness gate: checklist tuning per stage and tier, stakeholder roles, waivers, attestations.",
    )
    monitors: list[MonitorCreate] = Field(
        default_factory=list,
        description="Probes (http, tcp, dns, tls, command, prometheus, scrape) and heartbeats; see docs/monitoring.md.",
    )
    alert_rules: list[RuleCreate] = Field(
        default_factory=list, description="Threshold rules over the metrics store (or PromQL); see docs/monitoring.md.",
    )
    slos: list[SloCreate] = Field(
        default_factory=list, description="Service-level objectives with error budgets and burn-rate alerts; see docs/slos.md.",
    )
    maintenance_windows: list[WindowCreate] = Field(
        default_factory=list, description="Planned maintenance: one-off or recurring (rrule or cron) windows whose alerts "
        "are recorded but not sent; see docs/alerting.md.",
    )
    alerting: AlertingConfig | None = Field(
        None, description="The alert pipeline: receivers (email, webhook, chat), the route tree, inhibit rules, delivery retries. "
        "Omitted: alerting config in the database is left as it is.",
    )


def json_schema() -> dict:
    schema = WatchkeeperConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://watchkeeper.dev/schema/watchkeeper.schema.json"
    return schema
