"""monitors:, alert_rules: and slos: in watchkeeper.yaml — validate, plan, apply, adopt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.monitoring import make_monitor
from watchkeeper.configfile import loader, plan
from watchkeeper.monitoring.metrics import rules
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.slos import service as slos
from tests.factories.auth import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
BASE = """
version: 1
teams: [{name: web}]
services: [{name: shop, team: web}]
"""
MONITORS = BASE + """
monitors:
  - name: shop-home
    service: shop
    interval: 30s
    locations: [eu, us]
    http: {url: "https://shop.test/", expect_status: [200], json: [{path: $.status, value: ok}]}
  - name: shop-db
    service: shop
    tcp: {host: db.internal, port: 5432}
  - name: nightly
    heartbeat: {cron: "0 3 * * *", timezone: Europe/Berlin, grace: 30m}
alert_rules:
  - name: shop-slow
    service: shop
    expr: avg(probe_duration_seconds{monitor="shop-home"}[5m]) > 0.8
    for: 5m
slos:
  - name: shop-availability
    service: shop
    target: 99.9
    monitor: shop-home
"""


def test_apply_creates_then_changes_nothing_then_updates_and_deletes(session, system_actor):
    result = plan.apply(session, loader.load_text(MONITORS), actor=system_actor)
    created = {(c.kind, c.name) for c in result.changes if c.action == "create"}
    assert {("monitor", "shop-home"), ("monitor", "shop-db"), ("monitor", "nightly"), ("alert_rule", "shop-slow"),
            ("slo", "shop-availability")} <= created
    m = monitoring.get_monitor(session, actor=SYSTEM, name="shop-home")
    assert m.managed_by == "config" and m.quorum == 2 and m.http["json"] == [{"path": "$.status", "op": "==", "value": "ok"}]
    assert plan.plan(session, loader.load_text(MONITORS), actor=system_actor).empty
    changed = MONITORS.replace("interval: 30s", "interval: 45s").replace("target: 99.9", "target: 99.5")
    changed = changed.replace("  - name: shop-db\n    service: shop\n    tcp: {host: db.internal, port: 5432}\n", "")
    result = plan.apply(session, loader.load_text(changed), actor=system_actor, prune=True)
    assert {(c.action, c.kind, c.name) for c in result.changes} == {
        ("update", "monitor", "shop-home"), ("update", "slo", "shop-availability"), ("delete", "monitor", "shop-db")}
    assert monitoring.get_monitor(session, actor=SYSTEM, name="shop-home").interval.total_seconds() == 45
    assert slos.get_slo(session, actor=SYSTEM, name="shop-availability").target == 99.5
    assert monitoring.find_monitor(session, name="shop-db") is None
    assert plan.plan(session, loader.load_text(changed), actor=system_actor).empty


def test_a_runtime_monitor_with_a_declared_name_is_adopted(session, system_actor):
    make_monitor(session, name="nightly", heartbeat={"period": "1d"})
    result = plan.apply(session, loader.load_text(MONITORS), actor=system_actor)
    change = next(c for c in result.changes if c.name == "nightly")
    assert change.action == "update" and change.detail.startswith("adopt")
    m = monitoring.get_monitor(session, actor=SYSTEM, name="nightly")
    assert m.managed_by == "config" and m.heartbeat["cron"] == "0 3 * * *"
    assert rules.get_rule(session, actor=SYSTEM, name="shop-slow").managed_by == "config"


def test_runtime_monitors_are_never_deleted_by_apply(session, system_actor):
    make_monitor(session, name="adhoc")
    plan.apply(session, loader.load_text(BASE), actor=system_actor)
    assert monitoring.find_monitor(session, name="adhoc") is not None


@pytest.mark.parametrize("snippet, where, message", [
    ("monitors:\n  - name: a\n    service: ghost\n    tcp: {host: x, port: 1}\n", 7, "unknown service 'ghost'"),
    ("monitors:\n  - name: a\n    tcp: {host: x, port: 99999}\n", 7, "less than or equal to 65535"),
    ("monitors:\n  - name: a\n    http: {url: 'https://x/', expect_satus: [200]}\n", 7, "unknown key 'expect_satus'"),
    ("monitors:\n  - name: a\n    tcp: {host: x, port: 1}\n  - name: a\n    tcp: {host: y, port: 2}\n", 8, "'a' is declared twice"),
    ("slos:\n  - name: s\n    target: 99.9\n    monitor: nope\n", 8, "unknown monitor 'nope'"),
    ("alert_rules:\n  - name: r\n    expr: avg(x[5m]) >>\n", 6, "expr: expected a number to compare with at position 13"),
])
def test_mistakes_are_reported_with_their_line(snippet, where, message):
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_text(BASE + snippet, file="watchkeeper.yaml")
    problem = exc.value.problems[0]
    assert message in problem.message
    assert problem.line == where, str(problem)


def test_the_example_config_monitors_watchkeeper_and_the_demo_and_both_copies_match(session, system_actor):
    example = (ROOT / "examples" / "watchkeeper.yaml").read_text()
    assert example == (ROOT / "src" / "watchkeeper" / "configfile" / "example.yaml").read_text()
    cfg = loader.load_text(example)
    urls = [m.http.url for m in cfg.monitors if m.http]
    assert "http://127.0.0.1:8080/healthz" in urls
    assert {m.service for m in cfg.monitors} >= {"watchkeeper", "demo"}
    plan.apply(session, cfg, actor=system_actor)
    assert plan.plan(session, loader.load_text(example), actor=system_actor).empty


def test_apply_leaves_a_monitor_paused_at_run_time_paused_unless_the_file_says_enabled(session, system_actor):
    """Issue 10.17: apply re-enabled a monitor paused during an incident."""
    plan.apply(session, loader.load_text(MONITORS), actor=system_actor)
    monitoring.set_enabled(session, name="shop-home", enabled=False, actor=system_actor)
    again = plan.apply(session, loader.load_text(MONITORS), actor=system_actor)
    assert again.empty, [c.describe() for c in again.changes]
    assert monitoring.get_monitor(session, actor=SYSTEM, name="shop-home").enabled is False
    said = MONITORS.replace("  - name: shop-home\n", "  - name: shop-home\n    enabled: true\n", 1)
    assert said != MONITORS
    plan.apply(session, loader.load_text(said), actor=system_actor)
    assert monitoring.get_monitor(session, actor=SYSTEM, name="shop-home").enabled is True
