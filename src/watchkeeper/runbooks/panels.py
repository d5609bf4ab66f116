"""Runbooks panels (watchkeeper/panels.py): on the overview, what lint says must be fixed; on a
service's hub, its documents with their review status and its bus factor."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.panels import Panel, PanelItem, unless_denied
from watchkeeper.runbooks import lint
from watchkeeper.runbooks import service as runbooks

PAGE = "/runbooks/view?path="


@unless_denied
def overview(session: Session, *, actor: Actor) -> Panel | None:
    if runbooks.current_config(session, actor=actor) is None:
        return None
    report = lint.lint(session, actor=actor)
    errors = [f for f in report.findings if f.severity == "error"]
    items = [PanelItem(f.path or f.service or f.check, PAGE + quote(f.path) if f.path else "/runbooks", f.message[:200], "bad")
             for f in errors]
    return Panel.of("runbooks", "Runbooks", items, summary=f"{len(errors)} lint error(s) in {report.documents} document(s)",
                    empty="Every document is reviewed and every alert is covered.", more_href="/runbooks")


@unless_denied
def for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    docs = runbooks.list_documents(session, actor=actor, service=service)
    if runbooks.current_config(session, actor=actor) is None:
        return None
    items = [PanelItem(d.title, PAGE + quote(d.path), f"{d.kind}; " + (f"reviewed, due {d.review.review_due}" if d.review.current
                                                                          else "review not current"),
                       "ok" if d.review.current else "warn") for d in docs]
    factor = lint.lint(session, actor=actor, service_name=service).bus_factor
    people = factor[0].count if factor else 0
    summary = f"{len(docs)} document(s); bus factor {people}"
    return Panel.of("runbooks", "Runbooks", items, summary=summary, tone="warn" if people <= 1 and docs else None,
                    empty=f"No document names this service; `watchkeeper runbook init {service}`.",
                    more_href=f"/runbooks?service={quote(service)}")
