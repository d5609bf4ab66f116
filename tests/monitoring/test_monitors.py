"""Monitor definitions: validation, audit, permissions, slot streams per location."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper.audit.models import AuditEvent
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from watchkeeper.auth.service import Actor
from watchkeeper.monitoring.models import Location, Monitor
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.probes.schemas import MonitorCreate, MonitorUpdate
from tests.factories.auth import SYSTEM


def _actions(session, target):
    return [e.action for e in session.execute(select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.seq)).scalars()]


def test_create_is_audited_and_reads_back_in_the_same_shape(session):
    make_service(session, name="shop")
    m = make_monitor(session, name="shop-home", service="shop", interval="30s", http={"url": "https://shop.test/", "expect_status": ["200"]})
    assert m.kind == "http" and m.status == "pending" and m.interval == dt.timedelta(seconds=30)
    assert m.http["url"] == "https://shop.test/" and m.http["expect_status"] == ["200"]
    assert m.quorum == 1 and [loc.location for loc in m.location_states] == ["*"]
    assert _actions(session, "monitor:shop-home") == ["monitor.create"]


def test_duplicate_name_and_unknown_service_are_refused(session):
    make_monitor(session, name="a")
    with pytest.raises(Conflict, match="monitor 'a' already exists"):
        make_monitor(session, name="a")
    with pytest.raises(InvalidInput, match="unknown service 'ghost'"):
        make_monitor(session, name="b", service="ghost")


@pytest.mark.parametrize("fields, message", [
    ({}, "a monitor needs exactly one of http, tcp, dns, tls, heartbeat, command, prometheus, scrape; found none"),
    ({"http": {"url": "http://x/"}, "tcp": {"host": "x", "port": 1}}, "found http, tcp"),
    ({"http": {"url": "ftp://x/"}}, "is not an http(s) URL"),
    ({"http": {"url": "http://x/", "expect_status": ["20x"]}}, "status '20x' is not valid"),
    ({"http": {"url": "http://x/"}, "interval": "5s", "timeout": "10s"}, "timeout 0:00:10 is longer than interval"),
    ({"http": {"url": "http://x/"}, "locations": ["a", "b"], "quorum": 3}, "quorum 3 is larger than the 2 location(s)"),
    ({"heartbeat": {"period": "1h", "cron": "0 * * * *"}}, "exactly one of period"),
    ({"heartbeat": {"cron": "61 * * * *"}}, "cron '61 * * * *': the minute field '61' is not valid; write a value, range, list or step within 0-59"),
    ({"tls": {"host": "x", "warn_days": 3, "fail_days": 7}}, "fail_days 7 is above warn_days 3"),
    ({"http": {"url": "http://x/", "json": [{"path": "$.[[", "value": 1}]}}, "does not parse"),
])
def test_bad_definitions_get_one_line_reasons(fields, message):
    with pytest.raises(ValidationError) as exc:
        MonitorCreate(name="m", **fields)
    assert message in str(exc.value)


def test_locations_make_one_slot_stream_each_and_default_to_a_majority(session):
    m = make_monitor(session, name="multi", locations=["eu", "us", "ap"])
    assert m.quorum == 2
    assert sorted(loc.location for loc in m.location_states) == ["ap", "eu", "us"]
    monitoring.update_monitor(session, name="multi", data=MonitorUpdate(locations=["eu"]), actor=Actor.system("t", "system"))
    rows = session.execute(select(Location.location)).scalars().all()
    assert rows == ["eu"]


def test_slots_are_phase_jittered_and_pause_parks_them(session, frozen_clock, system_actor):
    for i in range(20):
        make_monitor(session, name=f"m{i}", interval="60s")
    due = sorted(session.execute(select(Location.due_ms)).scalars())
    now_ms = int(frozen_clock.timestamp() * 1000)
    assert all(now_ms <= d < now_ms + 60_000 for d in due)
    assert len(set(d % 60_000 for d in due)) == 20  # spread across the minute, not all at :00
    monitoring.set_enabled(session, name="m0", enabled=False, actor=system_actor)
    loc = session.execute(select(Location).join(Monitor).where(Monitor.name == "m0")).scalar_one()
    assert loc.due_ms is None and monitoring.get_monitor(session, actor=SYSTEM, name="m0").status == "paused"
    assert _actions(session, "monitor:m0") == ["monitor.create", "monitor.update"]


def test_changing_the_spec_can_change_the_kind_and_is_audited_as_a_diff(session, system_actor):
    make_monitor(session, name="svc")
    m = monitoring.update_monitor(session, name="svc", data=MonitorUpdate(tcp={"host": "127.0.0.1", "port": 5432}), actor=system_actor)
    assert m.kind == "tcp" and m.tcp == {"host": "127.0.0.1", "port": 5432, "send": None, "expect": None} and m.http is None
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "monitor.update")).scalar_one()
    assert set(event.after) == {"kind", "tcp", "http"} and event.before["kind"] == "http" and event.after["http"] is None


def test_heartbeat_gets_a_ping_token_that_is_kept_out_of_the_audit_log(session):
    m = make_monitor(session, name="nightly", heartbeat={"period": "1d", "grace": "1h"})
    assert m.ping_path.startswith("/ping/") and len(m.ping_path) > 20
    assert m.location_states == []  # heartbeats are not probed
    event = session.execute(select(AuditEvent).where(AuditEvent.target == "monitor:nightly")).scalar_one()
    assert m.ping_path.split("/")[-1] not in str(event.after)


def test_permissions_follow_the_service_team(session, personas):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="search-api", team="search")
    alice, bob, carol = personas["alice"].actor, personas["bob"].actor, personas["carol"].actor
    make_monitor(session, name="co", service="checkout", actor=alice)
    with pytest.raises(PermissionDenied):
        make_monitor(session, name="se", service="search-api", actor=alice)
    with pytest.raises(PermissionDenied):
        make_monitor(session, name="co2", service="checkout", actor=bob)  # responders watch, operators configure
    with pytest.raises(PermissionDenied):
        monitoring.list_monitors(session, actor=carol)
    assert [m.name for m in monitoring.list_monitors(session, actor=bob)] == ["co"]


def test_command_monitors_need_a_global_grant(session, personas):
    make_service(session, name="checkout", team="payments")
    with pytest.raises(PermissionDenied, match="monitor.command"):
        make_monitor(session, name="cmd", service="checkout", command=["true"], actor=personas["alice"].actor)
    m = make_monitor(session, name="cmd", service="checkout", command="true", actor=personas["root"].actor)
    assert m.command["command"] == ["true"]
