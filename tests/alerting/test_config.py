"""The `alerting:` section: validation errors that name the receiver, apply and re-apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.alerting import service as alerting
from watchkeeper.auth.service import Actor
from watchkeeper.configfile import loader, plan
from tests.factories.auth import SYSTEM

TESTDATA = Path(__file__).parent / "testdata"
APPLY = Actor.system("apply", "apply")


def test_an_unknown_receiver_is_named_with_the_defined_ones():
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_file(TESTDATA / "route-bad-receiver.yaml")
    text = str(exc.value)
    assert "route-bad-receiver.yaml:" in text
    assert "route.routes[0].receiver: unknown receiver 'pager'; defined receivers are: email-ops, hooks" in text


def test_a_chat_channel_with_a_literal_url_is_refused():
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_text("alerting:\n  receivers:\n    - name: slack\n      channels:\n        - type: chat\n          url: slack://a/b/c\n"
                         "  route:\n    receiver: slack\n", file="w.yaml")
    assert "unknown key 'url'" in str(exc.value) and "required key 'url_env' is missing" in str(exc.value)
    assert "w.yaml:5:" in str(exc.value)  # the channel entry (the loader cannot see through the `type` tag)


def test_a_bad_matcher_points_at_its_line():
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_text("alerting:\n  route:\n    routes:\n      - matchers: ['severity=~\"(\"']\n", file="w.yaml")
    assert "w.yaml:4" in str(exc.value) and "regular expression" in str(exc.value)


def test_apply_creates_receivers_and_routes_and_a_second_apply_changes_nothing(session):
    cfg = loader.load_file(TESTDATA / "alerting-good.yaml")
    first = plan.apply(session, cfg, actor=APPLY)
    kinds = sorted((c.action, c.kind, c.name) for c in first.changes if c.kind in ("receiver", "alert-routing"))
    assert kinds == [("create", "alert-routing", "alerting"), ("create", "receiver", "email-ops"), ("create", "receiver", "hooks")]
    second = plan.plan(session, cfg, actor=APPLY)
    assert [c for c in second.changes if c.kind in ("receiver", "alert-routing")] == []
    explained = alerting.explain_route(session, actor=SYSTEM, labels={"alertname": "X", "severity": "critical", "service": "checkout"})
    assert [r["receiver"] for r in explained.routes] == ["hooks", "email-ops"]


def test_removing_the_section_keeps_routing_but_dropping_a_receiver_deletes_it(session):
    cfg = loader.load_file(TESTDATA / "alerting-good.yaml")
    plan.apply(session, cfg, actor=APPLY)
    text = (TESTDATA / "alerting-good.yaml").read_text()
    smaller = text.replace("        - matchers: ['severity=\"critical\"']\n          receiver: hooks\n          continue: true\n", "")
    smaller = smaller[: smaller.index("    - name: hooks")] + smaller[smaller.index("  route:"):]
    kept = plan.apply(session, loader.load_text(smaller, file="x.yaml"), actor=APPLY)
    assert [(c.action, c.name) for c in kept.changes if c.kind == "receiver"] == [("note", "hooks")]
    assert sorted(r.name for r in alerting.list_receivers(session, actor=SYSTEM)) == ["email-ops", "hooks"]
    result = plan.apply(session, loader.load_text(smaller, file="x.yaml"), actor=APPLY, prune=True)
    assert ("delete", "receiver", "hooks") in [(c.action, c.kind, c.name) for c in result.changes]
    assert [r.name for r in alerting.list_receivers(session, actor=SYSTEM)] == ["email-ops"]


def test_serving_another_file_never_deletes_the_alerting_config_applied_before(session):
    """Issue 10.16: `apply -f wk.yaml` then `make run` (the example file) deleted every receiver
    and route: the page went nowhere."""
    plan.apply(session, loader.load_file(TESTDATA / "alerting-good.yaml"), actor=APPLY)
    before = alerting.explain_route(session, actor=SYSTEM, labels={"alertname": "X", "severity": "critical", "service": "checkout"})
    example = loader.load_file(Path(__file__).resolve().parents[2] / "examples" / "watchkeeper.yaml")
    result = plan.apply(session, example, actor=APPLY)
    assert result.summary()["delete"] == 0
    assert {"email-ops", "hooks"} <= {r.name for r in alerting.list_receivers(session, actor=SYSTEM)}
    if example.alerting is None:
        after = alerting.explain_route(session, actor=SYSTEM, labels={"alertname": "X", "severity": "critical", "service": "checkout"})
        assert [r["receiver"] for r in after.routes] == [r["receiver"] for r in before.routes]
    without_section = "version: 1\n"
    assert plan.apply(session, loader.load_text(without_section), actor=APPLY, prune=True).empty
