"""Sync, git history, reviews, lint, readiness evidence and the documents port, on a real git
repository with commits by two authors and a real database (both stores)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from watchkeeper import clock
from watchkeeper.audit.models import AuditEvent
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate
from watchkeeper.errors import Conflict, PermissionDenied
from watchkeeper.evidence import Status
from watchkeeper.monitoring.metrics import rules
from watchkeeper.monitoring.metrics.schemas import RuleCreate
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.monitoring.slos.schemas import SloCreate
from watchkeeper.notify.models import Outbox
from watchkeeper.runbooks import documents, evidence, lint, reminders
from watchkeeper.runbooks import service as runbooks

from tests.factories.auth import make_persona
from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from tests.runbooks.helpers import SYSTEM, commit, configure, front

ALICE = ("Alice Example", "alice@example.com")
DAVE = ("Dave Example", "dave@example.com")


@pytest.fixture
def shop(session, personas):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="searchapi", team="search")
    teams.create_person(session, data=PersonCreate(handle="alice", email="alice@example.com",
                                                   contact_methods=[{"kind": "email", "address": "alice@example.com"}]), actor=SYSTEM)
    teams.create_person(session, data=PersonCreate(handle="dave", email="dave@example.com"), actor=SYSTEM)
    dave = make_persona(session, "dave", ["operator@team:payments"])
    session.commit()
    return {**personas, "dave": dave}


def _days(n: int) -> dt.datetime:
    return clock.utcnow() - dt.timedelta(days=n)


def _audit(session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_git_history_gives_authors_reviewer_not_author_and_bus_factor(session, shop, tmp_path):
    repo = tmp_path / "runbooks"
    commit(repo, {"checkout.md": front(alerts=["CheckoutDown"])}, author=ALICE, when=_days(10), message="add")
    first = commit(repo, {"checkout.md": front(alerts=["CheckoutDown"], body="# Down\n\nRestart it.\n")}, author=ALICE,
                   when=_days(5), message="edit")
    configure(session, repo)

    doc = runbooks.get_document(session, path="checkout.md", actor=shop["alice"].actor)
    assert doc.authors == ["alice"] and doc.last_author == "alice" and doc.last_commit == first
    assert not doc.review.current and "never been reviewed" in doc.review.reason

    # Alice wrote it: she may not review it; Dave may.
    with pytest.raises(PermissionDenied, match="last author"):
        runbooks.approve_review(session, path="checkout.md", actor=shop["alice"].actor)
    report = lint.findings(session, service_name="checkout")
    assert [b.model_dump() for b in report.bus_factor] == [{"service": "checkout", "people": ["alice"], "count": 1}]
    assert any(f.check == "bus_factor" and f.severity == "warning" for f in report.findings)

    request = runbooks.request_review(session, path="checkout.md", actor=shop["alice"].actor, note="new restart section")
    approved = runbooks.approve_review(session, path="checkout.md", actor=shop["dave"].actor)
    assert approved.id == request.id and approved.status == "approved" and approved.reviewer == "dave" and approved.commit == first
    assert [e.actor for e in _audit(session, "runbook.review")] == ["dave"]
    doc = runbooks.get_document(session, path="checkout.md", actor=shop["alice"].actor)
    assert doc.review.current and doc.review.reviewed_by == "dave"
    assert lint.bus_factor(session, service_name="checkout").people == ["alice", "dave"]

    # Dave then edits the file: his own review no longer counts once he is the last author.
    commit(repo, {"checkout.md": front(alerts=["CheckoutDown"], body="# Down\n\nRestart it twice.\n")}, author=DAVE,
           when=_days(1))
    runbooks.sync(session, actor=SYSTEM)
    doc = runbooks.get_document(session, path="checkout.md", actor=shop["alice"].actor)
    assert doc.authors == ["dave", "alice"] and not doc.review.current and "also its last author" in doc.review.reason
    assert any(f.check == "reviewer_is_author" for f in lint.findings(session, service_name="checkout").findings)
    with pytest.raises(PermissionDenied, match="last author"):
        runbooks.approve_review(session, path="checkout.md", actor=shop["dave"].actor)
    runbooks.approve_review(session, path="checkout.md", actor=shop["alice"].actor)
    assert runbooks.get_document(session, path="checkout.md", actor=shop["alice"].actor).review.current


def test_front_matter_review_stale_and_by_the_author(session, shop, tmp_path):
    repo = tmp_path / "rb"
    old = (clock.utcnow().date() - dt.timedelta(days=200)).isoformat()
    recent = (clock.utcnow().date() - dt.timedelta(days=3)).isoformat()
    commit(repo, {"stale.md": front(last_reviewed=(old, "dave")),
                  "self.md": front(title="Self", last_reviewed=(recent, "alice")),
                  "fine.md": front(title="Fine", last_reviewed=(recent, "dave"), review_every="30d")}, author=ALICE, when=_days(2))
    configure(session, repo)
    checks = {(f.path, f.check) for f in lint.findings(session).findings}
    assert ("stale.md", "stale") in checks and ("self.md", "reviewer_is_author") in checks
    assert not any(path == "fine.md" for path, _ in checks)
    fine = runbooks.get_document(session, path="fine.md", actor=SYSTEM)
    assert fine.review.review_due == dt.date.fromisoformat(recent) + dt.timedelta(days=30)


def test_lint_coverage_references_links_and_readiness(session, shop, tmp_path):
    make_monitor(session, name="checkout-home", service="checkout")
    rules.create_rule(session, data=RuleCreate(name="checkout-errors", expr="last(kpi[5m]) > 1", service="checkout"), actor=SYSTEM)
    rules.create_rule(session, data=RuleCreate(name="checkout-slow", expr="last(kpi[5m]) > 2", service="checkout"), actor=SYSTEM)
    slos.create_slo(session, data=SloCreate(name="checkout-availability", service="checkout", target=99.0, monitor="checkout-home"),
                    actor=SYSTEM)
    recent = (clock.utcnow().date() - dt.timedelta(days=3)).isoformat()
    repo = tmp_path / "rb"
    commit(repo, {"checkout.md": front(alerts=["checkout-errors"], last_reviewed=(recent, "dave"),
                                       body="# Down\n\n[other](missing.md) [ok](sub/dr.md) [web](https://example.com/x)\n"),
                  "sub/dr.md": front(title="DR", kind="dr-plan", services=("checkout", "ghost"), alerts=["NoSuchAlert"])},
           author=ALICE, when=_days(2))
    configure(session, repo)

    report = lint.findings(session)
    messages = {f.check: f.message for f in report.findings}
    assert "checkout-slow" in messages["uncovered_alert_rule"] and "checkout-errors" not in messages["uncovered_alert_rule"]
    assert "checkout-availability" in messages["uncovered_slo_alert"]
    assert "ghost" in messages["unknown_service"] and "NoSuchAlert" in messages["unknown_alert"]
    broken = [f for f in report.findings if f.check == "broken_link"]
    assert [f.message for f in broken] == [broken[0].message] and "missing.md" in broken[0].message and broken[0].line == 12

    svc = catalog.lookup_service(session, name="checkout")
    result = evidence.runbook_reviewed(session, svc)
    assert result.status == Status.FAIL and "checkout-slow" in result.reason and "checkout-availability" in result.reason

    # Cover the rest: a second runbook names the rule and the SLO's burn alerts by matchers.
    commit(repo, {"slow.md": front(title="Slow", alerts=["checkout-slow", '{alertname="SLOErrorBudgetBurn", slo=~"checkout-.*"}'],
                                   last_reviewed=(recent, "dave"))}, author=ALICE, when=_days(1))
    runbooks.sync(session, actor=SYSTEM)
    result = evidence.runbook_reviewed(session, svc)
    # Alice authored, Dave reviewed (front matter) within 180 days: two people, so PASS.
    assert result.status == Status.PASS, result.reason
    assert "bus factor 2" in result.reason and result.details["people"] == ["alice", "dave"]


def test_documents_port_and_alert_links(session, shop, tmp_path):
    recent = (clock.utcnow().date() - dt.timedelta(days=3)).isoformat()
    repo = tmp_path / "rb"
    commit(repo, {"process.md": front(title="Incidents", kind="incident-process", last_reviewed=(recent, "dave")),
                  "old-process.md": front(title="Old", kind="incident-process"),
                  "down.md": front(title="Down", alerts=['{alertname="MonitorDown", monitor=~"checkout-.*"}'])},
           author=ALICE, when=_days(2))
    configure(session, repo)
    best = documents.reviewed_document(session, service="checkout", kind="incident_process")
    assert best is not None and best.path == "process.md" and best.current and best.reviewed_by == "dave"
    assert best.authors == ("alice",) and best.review_due == dt.date.fromisoformat(recent) + dt.timedelta(days=90)
    assert documents.reviewed_document(session, service="checkout", kind="dr-plan") is None
    assert documents.reviewed_document(session, service="searchapi", kind="incident-process") is None

    refs = documents.runbooks_for_alert(session, {"alertname": "MonitorDown", "monitor": "checkout-home", "service": "checkout"},
                                        {"runbook_url": "https://wiki.example.com/checkout"})
    assert [(r.path, r.matched_by) for r in refs] == [("down.md", "front-matter"), (None, "runbook_url")]
    assert refs[1].url == "https://wiki.example.com/checkout"
    assert documents.runbooks_for_alert(session, {"alertname": "MonitorDown", "monitor": "search-home"}, {}) == []
    by_url = documents.runbooks_for_alert(session, {"alertname": "X"}, {"runbook_url": "process.md"})
    assert [(r.path, r.matched_by) for r in by_url] == [("process.md", "runbook_url")]
    assert documents.runbooks_for_alert(session, {"alertname": "X"}, {"runbook_url": "javascript:alert(1)"}) == []


def test_sync_keeps_a_broken_file_and_deletes_a_removed_one(session, shop, tmp_path):
    repo = tmp_path / "plain"  # not a git repository: no history, front matter only
    repo.mkdir()
    (repo / "a.md").write_text(front(title="A"))
    (repo / "b.md").write_text(front(title="B"))
    (repo / "README.md").write_text("# not a runbook")
    configure(session, repo)
    assert [d.path for d in runbooks.list_documents(session, actor=SYSTEM)] == ["a.md", "b.md"]
    assert runbooks.get_document(session, path="a.md", actor=SYSTEM).authors == []
    (repo / "a.md").write_text("---\ntitle: A\nkind: nonsense\n---\n")
    (repo / "b.md").unlink()
    result = runbooks.sync(session, actor=SYSTEM)
    assert (result.deleted, result.updated) == (1, 0)
    assert [d.path for d in runbooks.list_documents(session, actor=SYSTEM)] == ["a.md"]
    parse = [f for f in lint.findings(session).findings if f.check == "parse"]
    assert parse and parse[0].message.startswith("a.md:3: kind")
    with pytest.raises(Exception, match="a.md:3"):
        runbooks.sync(session, actor=SYSTEM, strict=True)
    assert _audit(session, "runbook.sync")


def test_scope_permissions_and_reminders(session, shop, tmp_path):
    repo = tmp_path / "rb"
    soon = (clock.utcnow().date() - dt.timedelta(days=85)).isoformat()
    commit(repo, {"checkout.md": front(last_reviewed=(soon, "dave"), owners=("alice", "nobody")),
                  "search.md": front(title="Search", services=("searchapi",), owners=())}, author=ALICE, when=_days(2))
    configure(session, repo)
    assert [d.path for d in runbooks.list_documents(session, actor=shop["bob"].actor)] == ["checkout.md"]
    with pytest.raises(PermissionDenied):
        runbooks.get_document(session, path="search.md", actor=shop["bob"].actor)
    with pytest.raises(PermissionDenied):
        runbooks.request_review(session, path="checkout.md", actor=shop["bob"].actor)  # responder: no runbook.update
    with pytest.raises(PermissionDenied):
        runbooks.sync(session, actor=shop["alice"].actor)  # team operator: runbook.configure is global
    assert lint.lint(session, actor=shop["bob"].actor).documents == 2
    assert all(f.path != "search.md" for f in lint.lint(session, actor=shop["bob"].actor).findings)

    assert reminders.send(session) == 1  # alice has an email; "nobody" is not a person
    assert reminders.send(session) == 0  # the same due date never twice
    row = session.execute(select(Outbox)).scalars().one()
    assert "checkout.md" in row.message["subject"] and row.channel["to"] == ["alice@example.com"]

    # Asking for a review emails the reviewers (here: the owners, as none are listed), not the one asking.
    runbooks.request_review(session, path="checkout.md", actor=shop["dave"].actor, note="steps changed")
    asked = [r for r in session.execute(select(Outbox)).scalars() if r.message["subject"].startswith("Review asked")]
    assert [r.channel["to"] for r in asked] == [["alice@example.com"]] and "steps changed" in asked[0].message["text"]


def test_not_configured(session, shop):
    with pytest.raises(Conflict, match="no runbooks folder"):
        runbooks.sync(session, actor=SYSTEM)
    svc = catalog.lookup_service(session, name="checkout")
    assert evidence.runbook_reviewed(session, svc).status == Status.UNKNOWN
