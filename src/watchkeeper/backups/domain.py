"""Backups and restore tests (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import ConfigSection, Domain, JobSpec, Periodic, Provider, Verb

DOMAIN = Domain(
    name="backups",
    package="watchkeeper.backups",
    models=("watchkeeper.backups.models",),
    jobs=(
        # One attempt: a failed backup is recorded as a failed run and alerted on, not retried
        # behind the operator's back (the next scheduled run is the retry).
        JobSpec("backups.run", "watchkeeper.backups.jobs:run", max_attempts=1),
        JobSpec("backups.schedule", "watchkeeper.backups.jobs:schedule", max_attempts=3),
    ),
    periodic=(Periodic("backups-schedule", "backups.schedule", dt.timedelta(minutes=1)),),
    api=("watchkeeper.backups.api:router",),
    cli=(Verb("backup", "Backups and restore tests: list, run, restore-test, history, self.", "watchkeeper.backups.cli:backup_app"),
         Verb("restore", "Restore a `watchkeeper backup self` copy into a fresh database and verify its audit chain.",
              "watchkeeper.backups.cli:restore")),
    config=(ConfigSection("backups", "watchkeeper.backups.schemas:BackupCreate", "list",
                          "Backup jobs (restic, postgres, sqlite, command) of services, their schedules, retention "
                          "and restore tests; secrets by environment-variable name only; see docs/backups.md."),),
    reconcilers="watchkeeper.backups.config_sync:RECONCILERS",
    providers=(Provider("backup_restore_tested", "watchkeeper.backups.evidence:restore_tested"),),
)
