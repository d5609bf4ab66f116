"""`watchkeeper runbook list|show|lint|sync|run|review|init` through the real entry point."""

from __future__ import annotations

import json

from watchkeeper.auth.service import Actor
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction
from watchkeeper.monitoring.metrics import rules
from watchkeeper.monitoring.metrics.schemas import RuleCreate
from watchkeeper.runbooks.parsing import parse_document

from tests.cli.test_cli import _run
from tests.factories.catalog import make_service
from tests.runbooks.helpers import commit, configure, front

SYSTEM = Actor.system("test", "system")
BODY = "# Down\n\n```sh {step=hello}\necho hello from the cli\n```\n\n```sh {step=boom}\necho no; exit 4\n```\n"


def test_runbook_verbs(fresh_url, tmp_path):
    repo = tmp_path / "rb"
    commit(repo, {"checkout.md": front(alerts=["checkout-errors"], body=BODY)}, author=("Alice", "alice@example.com"))
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        make_service(session, name="checkout", team="payments", description="Takes the money.", targets={"rpo": "15m", "rto": "1h"})
        rules.create_rule(session, data=RuleCreate(name="checkout-errors", expr="last(kpi[5m]) > 1", service="checkout"), actor=SYSTEM)
        backups.create_backup(session, data=BackupCreate.model_validate({
            "name": "pay-db", "service": "checkout", "source": {"kind": "command", "argv": ["true"]}}), actor=SYSTEM)
        configure(session, repo, runners=[{"name": "sh", "kind": "shell"}])
    engine.dispose()

    listed = json.loads(_run(["--json", "runbook", "list"], fresh_url, tmp_path).stdout)
    assert [(d["path"], d["current"], d["last_author"]) for d in listed] == [("checkout.md", False, "alice@example.com")]
    shown = json.loads(_run(["--json", "runbook", "show", "checkout.md"], fresh_url, tmp_path).stdout)
    assert [s["name"] for s in shown["steps"]] == ["hello", "boom"] and "html" not in shown

    lint = _run(["runbook", "lint"], fresh_url, tmp_path, check=False)
    assert lint.returncode == 1 and "never_reviewed" in lint.stdout and lint.stderr.startswith("error: ")

    plan = _run(["--json", "runbook", "run", "checkout.md", "hello"], fresh_url, tmp_path, check=False)
    assert plan.returncode == 2 and "pass --yes" in plan.stderr
    assert json.loads(plan.stdout)["command"] == ["/bin/sh", "-c", "echo hello from the cli\n"]
    dry = _run(["--json", "runbook", "run", "checkout.md", "hello", "--dry-run"], fresh_url, tmp_path)
    assert json.loads(dry.stdout)["would_run"] is True
    ran = json.loads(_run(["--json", "runbook", "run", "checkout.md", "hello", "--yes", "--now"], fresh_url, tmp_path).stdout)
    assert ran["status"] == "succeeded" and ran["output"] == "hello from the cli\n" and ran["exit_code"] == 0
    failed = _run(["runbook", "run", "checkout.md", "boom", "--yes", "--now"], fresh_url, tmp_path, check=False)
    assert failed.returncode == 1 and "exited with code 4" in failed.stderr

    _run(["runbook", "review", "request", "checkout.md", "--note", "new steps"], fresh_url, tmp_path)
    refused = _run(["runbook", "review", "approve", "checkout.md", "--reviewer", "alice@example.com"], fresh_url, tmp_path, check=False)
    assert refused.returncode == 1 and "last author" in refused.stderr
    approved = _run(["--json", "runbook", "review", "approve", "checkout.md", "--reviewer", "bob"], fresh_url, tmp_path)
    assert json.loads(approved.stdout)["reviewer"] == "bob" and "last_reviewed: {date: " in approved.stderr
    assert json.loads(_run(["--json", "runbook", "list"], fresh_url, tmp_path).stdout)[0]["current"] is True

    written = json.loads(_run(["--json", "runbook", "init", "checkout", "--kind", "dr-plan", "--dir", str(tmp_path / "new")],
                              fresh_url, tmp_path).stdout)
    text = (tmp_path / "new" / "checkout-dr-plan.md").read_text()
    assert written["written"].endswith("checkout-dr-plan.md")
    parsed = parse_document(text, file="checkout-dr-plan.md")  # a template that parses as written
    assert parsed.front.kind == "dr-plan" and parsed.front.services == ["checkout"]
    assert "RPO: 15m" in text and "RTO: 1h" in text and "pay-db (command)" in text and "## Restore" in text
    runbook = _run(["runbook", "init", "checkout", "--stdout"], fresh_url, tmp_path).stdout
    assert parse_document(runbook, file="x.md").front.alerts == ["checkout-errors"] and "checkout-errors" in runbook
    again = _run(["runbook", "init", "checkout", "--kind", "dr-plan", "--dir", str(tmp_path / "new")], fresh_url, tmp_path, check=False)
    assert again.returncode == 1 and "--force" in again.stderr
    bad = _run(["runbook", "init", "checkout", "--kind", "novel", "--stdout"], fresh_url, tmp_path, check=False)
    assert bad.returncode == 2 and "kind must be one of" in bad.stderr

    for verb in ("list", "show", "lint", "sync", "run", "review", "init"):
        assert _run(["runbook", verb, "--help"], fresh_url, tmp_path).returncode == 0
