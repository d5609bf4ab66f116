"""apply: a plan, one transaction, idempotent, never touching objects made at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.catalog import make_service
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.stages import Stage
from watchkeeper.configfile import loader, plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "watchkeeper.yaml"


def _cfg(text: str):
    return loader.load_text(text, file="test.yaml")


BASE = """
version: 1
people:
  - handle: ann
teams:
  - name: core
    members: [ann]
services:
  - name: db
    team: core
  - name: api
    team: core
    tier: 2
    depends_on: [db]
    targets: {slo: 99.9, slo_window: 30d, rto: 1h}
"""


def test_apply_twice_reports_no_changes_the_second_time(session, system_actor):
    cfg = loader.load_file(EXAMPLE)
    first = plan.apply(session, cfg, actor=system_actor)
    assert first.summary()["create"] >= 4
    second = plan.apply(session, cfg, actor=system_actor)
    assert second.empty, [c.describe() for c in second.changes]


def test_dry_run_plan_changes_nothing(session, system_actor):
    result = plan.plan(session, _cfg(BASE), actor=system_actor)
    assert [(c.action, c.kind, c.name) for c in result.changes] == [
        ("create", "person", "ann"), ("create", "team", "core"), ("create", "service", "db"), ("create", "service", "api")]
    assert catalog.list_services(session, actor=system_actor) == []


def test_changing_the_file_updates_and_deletes_only_what_it_owns(session, system_actor):
    plan.apply(session, _cfg(BASE), actor=system_actor)
    make_service(session, name="adhoc", team="core")  # made at run time
    edited = BASE.replace("tier: 2", "tier: 1").replace("  - name: db\n    team: core\n", "").replace("depends_on: [db]", "depends_on: []")
    result = plan.plan(session, _cfg(edited), actor=system_actor, prune=True)
    described = {(c.action, c.name): c for c in result.changes}
    assert described[("update", "api")].after == {"tier": 1, "depends_on": []}
    assert ("delete", "db") in described
    assert not any(name == "adhoc" for _, name in described)
    plan.apply(session, _cfg(edited), actor=system_actor, prune=True)
    names = {s.name for s in catalog.list_services(session, actor=system_actor)}
    assert names == {"api", "adhoc"}


def test_without_prune_an_object_missing_from_the_file_is_kept_and_said_so(session, system_actor):
    """Issue 10.16: deletions need --prune; the plan lists what it keeps."""
    plan.apply(session, _cfg(BASE), actor=system_actor)
    edited = BASE.replace("  - name: db\n    team: core\n", "").replace("depends_on: [db]", "depends_on: []")
    result = plan.apply(session, _cfg(edited), actor=system_actor)
    kept = [(c.action, c.kind, c.name) for c in result.changes if c.detail == plan.KEPT]
    assert kept == [("note", "service", "db")]
    assert result.summary()["delete"] == 0 and result.summary()["kept"] == 1
    assert {s.name for s in catalog.list_services(session, actor=system_actor)} == {"api", "db"}
    assert catalog.get_service(session, name="db").managed_by == "config"


def test_a_section_the_file_leaves_out_is_never_touched_even_with_prune(session, system_actor):
    plan.apply(session, _cfg(BASE), actor=system_actor)
    only_people = "version: 1\npeople:\n  - handle: ann\n"
    result = plan.apply(session, _cfg(only_people), actor=system_actor, prune=True)
    assert [c for c in result.changes if c.action == "delete" or c.detail == plan.KEPT] == []
    assert {s.name for s in catalog.list_services(session, actor=system_actor)} == {"api", "db"}
    emptied = "version: 1\npeople:\n  - handle: ann\nteams: []\nservices: []\n"
    result = plan.apply(session, _cfg(emptied), actor=system_actor, prune=True)  # declared empty: pruned
    assert sorted(c.name for c in result.changes if c.action == "delete") == ["api", "core", "db"]
    assert catalog.list_services(session, actor=system_actor) == []


def test_apply_never_changes_stages_and_says_so(no_gates, session, system_actor):
    plan.apply(session, _cfg(BASE), actor=system_actor)
    catalog.promote(session, name="api", to=Stage.MVP, actor=system_actor)
    result = plan.apply(session, _cfg(BASE), actor=system_actor)
    assert result.empty
    assert any(c.action == "note" and "promote" in c.detail for c in result.changes)
    assert catalog.get_service(session, name="api").stage == Stage.MVP


def test_a_runtime_object_with_a_declared_name_is_adopted(session, system_actor):
    make_service(session, name="db", team="core")
    result = plan.apply(session, _cfg(BASE), actor=system_actor)
    assert any(c.name == "db" and c.detail and "adopt" in c.detail for c in result.changes)
    assert catalog.get_service(session, name="db").managed_by == "config"


def test_a_failing_apply_changes_nothing(session, system_actor):
    """A change that fails halfway (a team still owns a run-time service) rolls back entirely."""
    plan.apply(session, _cfg(BASE), actor=system_actor)
    session.commit()
    make_service(session, name="adhoc", team="core")
    session.commit()
    without_team = "version: 1\npeople:\n  - handle: ann\n  - handle: zed\nteams: []\nservices: []\n"
    from watchkeeper.errors import Conflict

    with pytest.raises(Conflict):
        plan.apply(session, _cfg(without_team), actor=system_actor, prune=True)
    session.rollback()
    assert {s.name for s in catalog.list_services(session, actor=system_actor)} == {"db", "api", "adhoc"}
    assert [p.handle for p in teams.list_people(session, actor=system_actor)] == ["ann"]
