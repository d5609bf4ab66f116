"""`backups:` in watchkeeper.yaml: apply creates, a second apply plans nothing, a change is one
update of the changed keys, --prune deletes only what the file owns, bad input points at its
line and column."""

from __future__ import annotations

import pytest

from tests.config.test_apply import BASE, _cfg
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.configfile import loader, plan

BACKUPS = BASE + """
backups:
  - name: api-files
    service: api
    schedule: "0 3 * * *"
    timezone: Europe/Berlin
    timeout: 2h
    source:
      kind: restic
      repository: /srv/restic/api
      password_env: API_RESTIC_PASSWORD
      paths: [/srv/api/uploads]
      excludes: ["*.tmp"]
    retention: {keep_daily: 7, keep_weekly: 4}
    restore_test:
      schedule: "0 5 * * 0"
      read_data_subset: 10%
  - name: db-dump
    service: db
    source: {kind: postgres, dsn_env: DB_DSN, directory: /var/backups/db}
    restore_test: {sql: select count(*) > 0 from orders, expect: "True"}
"""


def _changes(result, kind="backup"):
    return [(c.action, c.name) for c in result.changes if c.kind == kind]


def test_backups_round_trip(session, system_actor):
    first = plan.apply(session, _cfg(BACKUPS), actor=system_actor)
    assert _changes(first) == [("create", "api-files"), ("create", "db-dump")]
    jobs = {b.name: b for b in backups.list_backups(session, actor=system_actor)}
    assert jobs["api-files"].managed_by == "config" and jobs["api-files"].timeout_seconds == 7200
    assert jobs["db-dump"].source == {"kind": "postgres", "dsn_env": "DB_DSN", "directory": "/var/backups/db"}
    assert plan.plan(session, _cfg(BACKUPS), actor=system_actor).empty
    longer = plan.apply(session, _cfg(BACKUPS.replace("keep_daily: 7", "keep_daily: 14")), actor=system_actor)
    changed = [c for c in longer.changes if c.kind == "backup"]
    assert [(c.action, c.name) for c in changed] == [("update", "api-files")] and list(changed[0].after) == ["retention"]
    backups.create_backup(session, data=BackupCreate.model_validate({
        "name": "adhoc", "service": "api", "source": {"kind": "command", "argv": ["true"]}}), actor=system_actor)
    gone = plan.apply(session, _cfg(BASE + "backups:\n  - name: db-dump\n    service: db\n"
                                    "    source: {kind: postgres, dsn_env: DB_DSN, directory: /var/backups/db}\n"
                                    "    restore_test: {sql: select count(*) > 0 from orders, expect: \"True\"}\n"),
                      actor=system_actor, prune=True)
    assert _changes(gone) == [("delete", "api-files")]
    assert sorted(b.name for b in backups.list_backups(session, actor=system_actor)) == ["adhoc", "db-dump"]


@pytest.mark.parametrize("text,where,what", [
    ("backups:\n  - name: x\n    service: ghost\n    source: {kind: command, argv: [\"true\"]}\n", "test.yaml:18:14", "unknown service 'ghost'"),
    ("backups:\n  - name: x\n    service: api\n    source: {kind: restic, repository: /r, password: hunter2, password_env: P, paths: [/x]}\n",
     "test.yaml:19", "password"),
    ("backups:\n  - name: x\n    service: api\n    schedule: every day\n    source: {kind: command, argv: [\"true\"]}\n",
     "test.yaml:19", "schedule"),
])
def test_bad_backups_point_at_their_line(text, where, what):
    with pytest.raises(loader.ConfigInvalid) as info:
        _cfg(BASE + text)
    assert where in str(info.value) and what in str(info.value), str(info.value)
