"""Monitoring: probes and heartbeats, the metrics store and rules, SLOs (see
watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import (
    ConfigSection, Domain, JobSpec, Loop, Measure, NavLink, PanelSpec, Periodic, Provider, Verb,
)

_EVIDENCE = "watchkeeper.monitoring.evidence"

DOMAIN = Domain(
    name="monitoring",
    package="watchkeeper.monitoring",
    panels=(PanelSpec("monitors", 30, "watchkeeper.monitoring.panels:monitors_overview",
                     "watchkeeper.monitoring.panels:monitors_for_service"),
            PanelSpec("slos", 40, "watchkeeper.monitoring.panels:slos_overview", "watchkeeper.monitoring.panels:slos_for_service"),),
    models=("watchkeeper.monitoring.models",),
    jobs=(
        JobSpec("monitoring.heartbeats", "watchkeeper.monitoring.jobs:heartbeats", max_attempts=2),
        JobSpec("monitoring.rules", "watchkeeper.monitoring.jobs:evaluate_rules", max_attempts=2),
        JobSpec("monitoring.slos", "watchkeeper.monitoring.jobs:evaluate_slos", max_attempts=2),
        JobSpec("monitoring.rollup", "watchkeeper.monitoring.jobs:rollup", max_attempts=3),
        JobSpec("monitoring.prune", "watchkeeper.monitoring.jobs:prune", max_attempts=3),
    ),
    periodic=(
        Periodic("monitoring-heartbeats", "monitoring.heartbeats", dt.timedelta(seconds=15)),
        Periodic("monitoring-rules", "monitoring.rules", dt.timedelta(seconds=15)),
        Periodic("monitoring-slos", "monitoring.slos", dt.timedelta(minutes=1)),
        Periodic("monitoring-rollup", "monitoring.rollup", dt.timedelta(minutes=1)),
        Periodic("monitoring-prune", "monitoring.prune", dt.timedelta(hours=1)),
    ),
    loops=(Loop("probes", "watchkeeper.monitoring.probes.runner:run_probe_loop"),),
    api=("watchkeeper.monitoring.api:router",),
    public_api=("watchkeeper.api.pings:ping_router",),  # heartbeat pings under /ping/
    pages=("watchkeeper.web.monitoring_pages:router",),
    nav=(NavLink("Monitors", "/monitors", 40), NavLink("SLOs", "/slos", 50),),
    cli=(Verb("monitor", "Monitors, heartbeats, metrics, rules and SLOs.",
              "watchkeeper.monitoring.cli:monitor_app"),),
    config=(
        ConfigSection("monitors", "watchkeeper.monitoring.probes.schemas:MonitorCreate", "list",
                      "Probes (http, tcp, dns, tls, command, prometheus, scrape) and heartbeats; see docs/monitoring.md."),
        ConfigSection("alert_rules", "watchkeeper.monitoring.metrics.schemas:RuleCreate", "list",
                      "Threshold rules over the metrics store (or PromQL); see docs/monitoring.md."),
        ConfigSection("slos", "watchkeeper.monitoring.slos.schemas:SloCreate", "list",
                      "Service-level objectives with error budgets and burn-rate alerts; see docs/slos.md."),
    ),
    reconcilers="watchkeeper.monitoring.config_sync:RECONCILERS",
    providers=(
        Provider("monitoring_active", f"{_EVIDENCE}:monitoring_active", f"{_EVIDENCE}:monitoring_active_batch"),
        Provider("slo_achievable", f"{_EVIDENCE}:slo_achievable", f"{_EVIDENCE}:slo_achievable_batch"),
    ),
    measures=(
        Measure("monitors_present", f"{_EVIDENCE}:monitoring_active"),
        Measure("slo_attainment", f"{_EVIDENCE}:slo_achievable"),
        Measure("probe_latency", f"{_EVIDENCE}:probe_latency"),
    ),
)
