"""Deployments: records, the deploy gate, rollbacks and drills, gradual rollouts, the change
calendar (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import (
    ConfigSection,
    Domain,
    JobSpec,
    NavLink,
    Periodic,
    Provider,
    Verb,
)

DOMAIN = Domain(
    name="deploys",
    package="watchkeeper.deploys",
    models=("watchkeeper.deploys.models",),
    jobs=(
        # Two attempts: the second finds the rollback `running` (its worker died) and fails it
        # with that reason instead of running a hook twice.
        JobSpec("deploys.rollback", "watchkeeper.deploys.jobs:run_rollback", max_attempts=2),
        # A step taken back from a dead worker resumes from its recorded state (rollout.py).
        JobSpec("deploys.rollout", "watchkeeper.deploys.jobs:run_rollout_step", max_attempts=5),
        JobSpec("deploys.watch", "watchkeeper.deploys.jobs:watch_rollouts", max_attempts=3),
    ),
    periodic=(Periodic("deploys-watch", "deploys.watch", dt.timedelta(minutes=1)),),
    api=("watchkeeper.deploys.api:router",),
    pages=("watchkeeper.web.deploys_pages:router",),
    nav=(NavLink("Deploys", "/deploys", 60), NavLink("Change calendar", "/deploys/calendar", 75, "more")),
    cli=(Verb("deploy", "Deploys: start, finish, check (the gate for CI), rollout, rollback, drill, overrides, freezes.",
              "watchkeeper.deploys.cli:deploy_app"),
         Verb("releasenotes", "Release notes (Markdown) from git between two deployed versions of a service.",
              "watchkeeper.deploys.cli:releasenotes")),
    config=(ConfigSection("deploys", "watchkeeper.deploys.schemas:DeploysConfig", "object",
                          "Deploy policies per service (rollback, deploy and traffic hooks, health, error-budget policy, "
                          "rollout plan), change freezes and change windows; see docs/deploys.md."),),
    reconcilers="watchkeeper.deploys.config_sync:RECONCILERS",
    providers=(Provider("rollback_drilled", "watchkeeper.deploys.evidence:rollback_drilled"),),
)
