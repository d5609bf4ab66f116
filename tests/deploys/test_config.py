"""`deploys:` in watchkeeper.yaml: apply creates policies and freezes, a second apply plans
nothing, a change is one update, --prune deletes only what the file owns, bad input points at
its line."""

from __future__ import annotations

import pytest

from tests.config.test_apply import BASE, _cfg
from watchkeeper.configfile import loader, plan
from watchkeeper.deploys import freezes
from watchkeeper.deploys.schemas import FreezeCreate

DEPLOYS = BASE + """
deploys:
  services:
    - service: api
      rollback: {command: {command: [/usr/local/bin/api-deploy, "{version}"], timeout: 2m}}
      traffic: {http: {url: "https://lb.example.com/split", token_env: LB_TOKEN}}
      budget: {min_remaining: 0.1}
      rollout:
        steps:
          - {weight: 5, pause: 1m, analysis: {max_burn: 2.0}}
          - {weight: 50, approval: true}
          - {weight: 100}
  freezes:
    - name: weekend
      cron: "0 16 * * 5"
      timezone: Europe/Berlin
      duration: 64h
      reason: no weekend changes
    - name: core-hours
      kind: window
      team: core
      cron: "0 9 * * 1-5"
      duration: 8h
"""


def _changes(result, kind):
    return [(c.action, c.name) for c in result.changes if c.kind == kind]


def test_deploys_round_trip(session, system_actor):
    first = plan.apply(session, _cfg(DEPLOYS), actor=system_actor)
    assert _changes(first, "deploy_policy") == [("create", "api")]
    assert sorted(_changes(first, "deploy_freeze")) == [("create", "core-hours"), ("create", "weekend")]
    policy = freezes.policy_of(session, "api")
    assert policy.rollback.command.timeout.total_seconds() == 120 and [s.weight for s in policy.rollout.steps] == [5, 50, 100]
    assert {f.name: f.managed_by for f in freezes.list_freezes(session, actor=system_actor)} == {"core-hours": "config", "weekend": "config"}
    assert plan.plan(session, _cfg(DEPLOYS), actor=system_actor).empty
    longer = plan.apply(session, _cfg(DEPLOYS.replace("duration: 64h", "duration: 65h")), actor=system_actor)
    assert _changes(longer, "deploy_freeze") == [("update", "weekend")]
    freezes.create_freeze(session, data=FreezeCreate.model_validate(
        {"name": "adhoc", "starts_at": "2030-01-01T00:00:00Z", "duration": "1h"}), actor=system_actor)
    pruned = plan.apply(session, _cfg(BASE + "deploys:\n  freezes: []\n  services: []\n"), actor=system_actor, prune=True)
    assert sorted(_changes(pruned, "deploy_freeze")) == [("delete", "core-hours"), ("delete", "weekend")]
    assert _changes(pruned, "deploy_policy") == [("delete", "api")]
    assert [f.name for f in freezes.list_freezes(session, actor=system_actor)] == ["adhoc"]


@pytest.mark.parametrize("text,where,what", [
    ("deploys:\n  freezes:\n    - name: f\n      cron: every friday\n      duration: 1h\n", "test.yaml:19", "cron"),
    ("deploys:\n  services:\n    - service: api\n      rollout: {steps: [{weight: 50}, {weight: 5}, {weight: 100}]}\n", "test.yaml:19",
     "must not decrease"),
    ("deploys:\n  services:\n    - service: api\n      traffic: {http: {url: 'file:///etc/passwd'}}\n", "test.yaml:19", "http(s) URL"),
    ("deploys:\n  services:\n    - service: ghost\n", "test.yaml:18:16", "unknown service 'ghost'"),
    ("deploys:\n  freezes:\n    - {name: f, team: nobody, starts_at: '2030-01-01T00:00:00Z', duration: 1h}\n", "test.yaml:18", "unknown team 'nobody'"),
    ("deploys:\n  services:\n    - service: api\n    - service: api\n", "test.yaml:19", "'api' is declared twice"),
    ("deploys:\n  services:\n    - service: api\n      rollback: {command: {command: [x]}, http: {url: 'https://a.example'}}\n",
     "test.yaml:19", "exactly one"),
])
def test_bad_deploys_config_points_at_its_line(text, where, what):
    with pytest.raises(loader.ConfigInvalid) as info:
        _cfg(BASE + text)
    assert where in str(info.value) and what in str(info.value), str(info.value)
