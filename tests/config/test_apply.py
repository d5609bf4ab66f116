"""apply: a plan, one transaction, idempotent, never touching objects made at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.catalog import make_service
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.stages import Stage
from watchkeeper.configfile import loader, plan
from tests.factories.auth import SYSTEM

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
    assert catalog.get_service(session, actor=SYSTEM, name="db").managed_by == "config"


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
    assert catalog.get_service(session, actor=SYSTEM, name="api").stage == Stage.MVP


def test_a_runtime_object_with_a_declared_name_is_adopted(session, system_actor):
    make_service(session, name="db", team="core")
    result = plan.apply(session, _cfg(BASE), actor=system_actor)
    assert any(c.name == "db" and c.detail and "adopt" in c.detail for c in result.changes)
    assert catalog.get_service(session, actor=SYSTEM, name="db").managed_by == "config"


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


WINDOWS = BASE + """
maintenance_windows:
  - name: sunday-patching
    service: api
    starts_at: 2026-03-01T02:00:00+01:00
    duration: 2h
    rrule: FREQ=WEEKLY;BYDAY=SU
    timezone: Europe/Berlin
    comment: OS patches
"""


def test_maintenance_windows_are_declared_in_the_file(session, system_actor):
    """Issue 10.17: maintenance windows could not be declared in watchkeeper.yaml."""
    from watchkeeper.maintenance import service as maintenance

    first = plan.apply(session, _cfg(WINDOWS), actor=system_actor)
    assert ("create", "maintenance_window", "sunday-patching") in [(c.action, c.kind, c.name) for c in first.changes]
    w = maintenance.list_windows(session, actor=SYSTEM, include_past=True)[0]
    assert (w.name, w.service, w.managed_by, w.duration_seconds, w.timezone) == ("sunday-patching", "api", "config", 7200, "Europe/Berlin")
    assert w.starts_at.isoformat() == "2026-03-01T01:00:00+00:00"
    assert plan.plan(session, _cfg(WINDOWS), actor=system_actor).empty  # +01:00 in the file equals the stored UTC
    longer = plan.apply(session, _cfg(WINDOWS.replace("duration: 2h", "duration: 3h")), actor=system_actor)
    changed = [c for c in longer.changes if c.kind == "maintenance_window"]
    assert [c.action for c in changed] == ["update"] and list(changed[0].after) == ["duration"]
    assert maintenance.list_windows(session, actor=SYSTEM, include_past=True)[0].duration_seconds == 3 * 3600
    gone = plan.apply(session, _cfg(BASE + "maintenance_windows: []\n"), actor=system_actor, prune=True)
    assert ("delete", "maintenance_window", "sunday-patching") in [(c.action, c.kind, c.name) for c in gone.changes]
    assert maintenance.list_windows(session, actor=SYSTEM, include_past=True)[0].cancelled_at is not None
    back = plan.apply(session, _cfg(WINDOWS), actor=system_actor)  # declared again: the name is reused
    assert ("create", "maintenance_window", "sunday-patching") in [(c.action, c.kind, c.name) for c in back.changes]
    again = maintenance.list_windows(session, actor=SYSTEM, include_past=True)
    assert len(again) == 1 and again[0].cancelled_at is None and again[0].duration_seconds == 7200


def test_a_window_for_an_undeclared_service_points_at_its_line():
    text = "version: 1\nmaintenance_windows:\n  - name: w\n    service: ghost\n    starts_at: 2026-03-01T02:00:00Z\n    duration: 1h\n"
    with pytest.raises(loader.ConfigInvalid) as info:
        _cfg(text)
    assert "test.yaml:4:14" in str(info.value) and "unknown service 'ghost'" in str(info.value)


def test_a_runtime_window_with_a_declared_name_is_adopted_and_a_cancelled_runtime_name_stays_taken(session, system_actor):
    import datetime as dt

    from watchkeeper.errors import Conflict
    from watchkeeper.maintenance import service as maintenance
    from watchkeeper.maintenance.schemas import WindowCreate

    plan.apply(session, _cfg(BASE), actor=system_actor)
    maintenance.create_window(session, data=WindowCreate(name="sunday-patching", service="api", starts_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                                                         duration="1h"), actor=system_actor)
    result = plan.apply(session, _cfg(WINDOWS), actor=system_actor)
    assert any(c.name == "sunday-patching" and c.detail and "adopt" in c.detail for c in result.changes)
    w = maintenance.list_windows(session, actor=SYSTEM, include_past=True)[0]
    assert w.managed_by == "config" and w.duration_seconds == 7200
    maintenance.create_window(session, data=WindowCreate(name="adhoc", service="api", starts_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                                                         duration="1h"), actor=system_actor)
    maintenance.cancel_window(session, name="adhoc", actor=system_actor)
    with pytest.raises(Conflict, match="already exists"):
        maintenance.create_window(session, data=WindowCreate(name="adhoc", service="api", starts_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                                                             duration="1h"), actor=system_actor)
