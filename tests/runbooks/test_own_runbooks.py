"""Watchkeeper's own runbooks (docs/runbooks/) are a runbooks folder the example config loads:
`readiness watchkeeper --stage PROD` judges runbook_reviewed from them — every alert of the
example's watchkeeper service is covered, and a review by someone other than the last author
(recorded in Watchkeeper) makes it pass."""

from __future__ import annotations

import os
from pathlib import Path

from watchkeeper.catalog.stages import Stage
from watchkeeper.configfile import loader, plan
from watchkeeper.readiness import evaluation
from watchkeeper.runbooks import lint
from watchkeeper.runbooks import service as runbooks

from tests.factories.auth import make_persona

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "watchkeeper.yaml"


def _item(session, actor):
    report = evaluation.get_report(session, service="watchkeeper", actor=actor, stage=Stage.PROD)
    return next(i for i in report.items if i.check == "runbook_reviewed")


def test_the_example_loads_watchkeepers_own_runbooks_and_readiness_judges_them(session, system_actor, tmp_path,
                                                                                monkeypatch, readiness_wiring):
    monkeypatch.chdir(tmp_path)  # the folder is found from the config file's directory, not the working one
    plan.apply(session, loader.load_file(EXAMPLE), actor=system_actor)
    assert runbooks.current_config(session, actor=system_actor).path == str(ROOT / "docs" / "runbooks")
    docs = {d.path: d for d in runbooks.list_documents(session, actor=system_actor)}
    assert {"watchkeeper-slow.md", "watchkeeper-not-ready.md", "restore-watchkeeper.md", "backup-missed.md"} <= set(docs)
    assert "README.md" not in docs and docs["restore-watchkeeper.md"].kind == "dr-plan"
    assert [s.name for s in docs["watchkeeper-slow.md"].steps] == ["health"]

    # Every alert of the example (rule watchkeeper-slow, the SLO's burn alerts) is covered, no file fails to parse.
    report = lint.findings(session)
    assert not [f for f in report.findings if f.check in ("parse", "folder", "uncovered_alert_rule", "uncovered_slo_alert",
                                                            "unknown_service", "unknown_alert", "broken_link")], report.findings

    item = _item(session, system_actor)
    assert item.status == "fail" and "never been reviewed" in item.reason, item.reason

    bob = make_persona(session, "bob", ["operator@team:platform"])
    author = docs["watchkeeper-slow.md"].last_author
    reviewer = bob.actor if author != "bob" else make_persona(session, "alice", ["operator@team:platform"]).actor
    runbooks.approve_review(session, path="watchkeeper-slow.md", actor=reviewer, note="walked through it")
    item = _item(session, system_actor)
    assert item.status in ("pass", "warn"), item.reason
    assert "watchkeeper-slow.md" in item.reason and reviewer.name in item.reason
    assert plan.plan(session, loader.load_file(EXAMPLE), actor=system_actor).empty


def test_a_missing_folder_is_reported_not_fatal(session, system_actor, tmp_path, readiness_wiring):
    text = EXAMPLE.read_text().replace("path: ../docs/runbooks", "path: no-such-runbooks")
    (tmp_path / "watchkeeper.yaml").write_text(text)
    cfg = loader.load_file(tmp_path / "watchkeeper.yaml")
    plan.apply(session, cfg, actor=system_actor)
    assert plan.plan(session, cfg, actor=system_actor).empty
    [finding] = [f for f in lint.findings(session).findings if f.check == "folder"]
    assert str(tmp_path / "no-such-runbooks") in finding.message
    item = _item(session, system_actor)
    assert item.status == "fail" and "does not exist" in item.reason
    assert os.path.isabs(runbooks.current_config(session, actor=system_actor).path)
