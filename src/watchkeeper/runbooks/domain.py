"""Runbooks and required documents (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import ConfigSection, Domain, JobSpec, Measure, NavLink, PanelSpec, Periodic, Provider, Verb

DOMAIN = Domain(
    name="runbooks",
    package="watchkeeper.runbooks",
    models=("watchkeeper.runbooks.models",),
    jobs=(
        JobSpec("runbooks.sync", "watchkeeper.runbooks.jobs:sync", max_attempts=3),
        JobSpec("runbooks.review_reminders", "watchkeeper.runbooks.jobs:review_reminders", max_attempts=3),
        # One attempt: a step is run once, on a human's confirmation; never retried behind their back.
        JobSpec("runbooks.run_step", "watchkeeper.runbooks.jobs:run_step", max_attempts=1),
    ),
    periodic=(
        Periodic("runbooks-sync", "runbooks.sync", dt.timedelta(minutes=5)),
        Periodic("runbooks-review-reminders", "runbooks.review_reminders", dt.timedelta(hours=1)),
    ),
    api=("watchkeeper.runbooks.api:router",),
    pages=("watchkeeper.web.runbooks_pages:router",),
    nav=(NavLink("Runbooks", "/runbooks", 60, "more", permission="runbook.read"),),
    panels=(PanelSpec("runbooks", 70, "watchkeeper.runbooks.panels:overview", "watchkeeper.runbooks.panels:for_service"),),
    cli=(Verb("runbook", "Runbooks and required documents: list, show, lint, run, review, init, sync.",
              "watchkeeper.runbooks.cli:runbook_app"),),
    config=(ConfigSection(
        "runbooks", "watchkeeper.runbooks.schemas:RunbooksConfig", "optional",
        "The runbooks folder (Markdown with YAML front matter, usually a git checkout), the default review "
        "cadence, when owners are reminded, and the allow-list of runners executable steps may use; see docs/runbooks-domain.md.",
    ),),
    reconcilers="watchkeeper.runbooks.config_sync:RECONCILERS",
    providers=(Provider("runbook_reviewed", "watchkeeper.runbooks.evidence:runbook_reviewed",
                        "watchkeeper.runbooks.evidence:runbook_reviewed_batch"),),
    measures=(Measure("runbooks_lint_clean", "watchkeeper.runbooks.evidence:lint_clean"),),
)
