"""On-call: schedules, overrides, escalation policies and their execution, coverage (see watchkeeper/domain.py)."""

from watchkeeper.domain import ConfigSection, Domain, JobSpec, PanelSpec, Provider, Verb

DOMAIN = Domain(
    name="oncall",
    package="watchkeeper.oncall",
    panels=(PanelSpec("oncall", 15, "watchkeeper.oncall.panels:overview"),),
    models=("watchkeeper.oncall.models",),
    # Escalation steps: durable timers claimed with leases (escalation.py).
    jobs=(JobSpec("oncall.step", "watchkeeper.oncall.jobs:step", max_attempts=10),
          JobSpec("oncall.sla_check", "watchkeeper.oncall.jobs:sla_check", max_attempts=10)),
    api=("watchkeeper.oncall.api:router",),
    cli=(Verb("oncall", "On-call: who, schedules, overrides, policies, escalations, response SLAs, coverage.", "watchkeeper.oncall.cli:oncall_app"),),
    config=(ConfigSection(
        "oncall", "watchkeeper.oncall.schemas:OncallConfig", "optional",
        "On-call schedules (layers of rotations, restrictions) and escalation policies (levels, timeouts, repeat, "
        "the services they cover); see docs/oncall.md. Omitted: on-call objects in the database are left as they are.",
    ),),
    reconcilers="watchkeeper.oncall.config_sync:RECONCILERS",
    providers=(Provider("oncall_coverage", "watchkeeper.oncall.evidence:oncall_coverage",
                        "watchkeeper.oncall.evidence:oncall_coverage_batch"),),
)
