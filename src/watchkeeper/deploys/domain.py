"""Deployments: records, the deploy gate, rollbacks and drills, gradual rollouts, the change
calendar (see watchkeeper/domain.py)."""

from watchkeeper.domain import ConfigSection, Domain, Provider, Verb

DOMAIN = Domain(
    name="deploys",
    package="watchkeeper.deploys",
    models=("watchkeeper.deploys.models",),
    api=("watchkeeper.deploys.api:router",),
    cli=(Verb("deploy", "Deploys: start, finish, check (the gate for CI), list, overrides, freezes.",
              "watchkeeper.deploys.cli:deploy_app"),),
    config=(ConfigSection("deploys", "watchkeeper.deploys.schemas:DeploysConfig", "object",
                          "Deploy policies per service (rollback, deploy and traffic hooks, health, error-budget policy, "
                          "rollout plan), change freezes and change windows; see docs/deploys.md."),),
    reconcilers="watchkeeper.deploys.config_sync:RECONCILERS",
    providers=(Provider("rollback_drilled", "watchkeeper.deploys.evidence:rollback_drilled"),),
)
