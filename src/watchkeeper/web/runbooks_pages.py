"""Runbooks pages: the index (documents, review status, lint findings, bus factor), a document
(rendered Markdown, front matter, review status and buttons, steps with a confirmation form),
and a step run with its output, refreshed by htmx while it runs. Everything goes through the
runbooks services, which check the actor."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import SessionDep
from watchkeeper.runbooks import lint, steps
from watchkeeper.runbooks import service as runbooks
from watchkeeper.web.render import FormActor, FormError, PageActor, render, submit

router = APIRouter(include_in_schema=False)


@router.get("/runbooks", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, actor: PageActor, service: str | None = None):
    service = (service or None) and service[:100]
    docs = runbooks.list_documents(session, actor=actor, service=service)
    report = lint.lint(session, actor=actor, service_name=service)
    return render(request, "runbooks/index.html", docs=docs, report=report, service=service)


@router.get("/runbooks/view", response_class=HTMLResponse)
def document(request: Request, session: SessionDep, actor: PageActor, path: str, error: FormError = None,
             incident: int | None = None):
    doc = runbooks.get_document(session, path=path[:512], actor=actor)
    runs = steps.list_runs(session, path=doc.path, actor=actor, limit=10)
    can_run = runbooks.may(session, actor, "runbook.run", doc.services)
    can_review = runbooks.may(session, actor, "runbook.review", doc.services)
    return render(request, "runbooks/document.html", doc=doc, runs=runs, error=error, can_run=can_run,
                  can_review=can_review, incident=incident, quoted=quote(doc.path))


@router.post("/runbooks/run", response_class=HTMLResponse)
def run(request: Request, session: SessionDep, actor: FormActor, path: Annotated[str, Form(max_length=512)],
        step: Annotated[str, Form(max_length=64)], confirm: Annotated[str, Form(max_length=10)] = "",
        incident_id: Annotated[str, Form(max_length=20)] = "", command_sha256: Annotated[str, Form(max_length=64)] = ""):
    holder: dict = {}

    def action() -> None:
        incident = int(incident_id) if incident_id.strip().isdigit() else None
        holder["run"] = steps.run_step(session, path=path, step=step, actor=actor, confirm=confirm == "yes", incident_id=incident,
                                       command_sha256=command_sha256 or None)

    response = submit(session, action, done="/runbooks",
                      refused=lambda reason: document(request, session, actor, path=path, error=reason))
    if "run" in holder:
        response.headers["location"] = f"/runbooks/runs/{holder['run'].id}"
    return response


@router.post("/runbooks/review", response_class=HTMLResponse)
def review(request: Request, session: SessionDep, actor: FormActor, path: Annotated[str, Form(max_length=512)],
           action: Annotated[str, Form(max_length=10)], note: Annotated[str, Form(max_length=2000)] = ""):
    def act() -> None:
        if action == "approve":
            runbooks.approve_review(session, path=path, actor=actor, note=note or None)
        else:
            runbooks.request_review(session, path=path, actor=actor, note=note or None)

    return submit(session, act, done=f"/runbooks/view?path={quote(path)}",
                  refused=lambda reason: document(request, session, actor, path=path, error=reason))


@router.get("/runbooks/runs/{step_run_id}", response_class=HTMLResponse)
def run_page(request: Request, step_run_id: int, session: SessionDep, actor: PageActor):
    result = steps.get_run(session, step_run_id=step_run_id, actor=actor)
    return render(request, "runbooks/run.html", run=result, quoted=quote(result.path))


@router.get("/runbooks/runs/{step_run_id}/output", response_class=HTMLResponse)
def run_output(request: Request, step_run_id: int, session: SessionDep, actor: PageActor):
    result = steps.get_run(session, step_run_id=step_run_id, actor=actor)
    return render(request, "runbooks/_run_output.html", run=result)
