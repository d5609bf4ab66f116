from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.runbooks import lint as lint_service
from watchkeeper.runbooks import service as runbooks
from watchkeeper.runbooks import steps
from watchkeeper.runbooks.schemas import (
    DocumentDetail, DocumentRead, DryRun, LintReport, ReviewRead, ReviewRequest, StepRunRead, StepRunRequest, SyncResult,
)

router = APIRouter(tags=["runbooks"])
PathQuery = Query(..., min_length=1, max_length=512, description="The document's path inside the runbooks folder, e.g. checkout/down.md.")


@router.get("/runbooks", response_model=list[DocumentRead], summary="Runbooks and required documents the caller may read")
def list_documents(session: SessionDep, actor: CurrentActor, service: str | None = Query(None, max_length=100),
                   kind: str | None = Query(None, max_length=40)):
    return runbooks.list_documents(session, actor=actor, service=service, kind=kind)


@router.get("/runbooks/lint", response_model=LintReport, summary="Lint findings and bus factor (of one service with ?service=)")
def lint(session: SessionDep, actor: CurrentActor, service: str | None = Query(None, max_length=100)):
    return lint_service.lint(session, actor=actor, service_name=service)


@router.post("/runbooks/sync", response_model=SyncResult, summary="Re-read the runbooks folder now")
def sync(session: SessionDep, actor: CurrentActor):
    return runbooks.sync(session, actor=actor)


@router.get("/runbooks/document", response_model=DocumentDetail, summary="One document: front matter, review status, steps, safe HTML")
def get_document(session: SessionDep, actor: CurrentActor, path: str = PathQuery):
    return runbooks.get_document(session, path=path, actor=actor)


@router.get("/runbooks/reviews", response_model=list[ReviewRead], summary="A document's review requests and reviews, newest first")
def list_reviews(session: SessionDep, actor: CurrentActor, path: str = PathQuery):
    return runbooks.list_reviews(session, path=path, actor=actor)


@router.post("/runbooks/review-requests", response_model=ReviewRead, status_code=status.HTTP_201_CREATED,
             summary="Ask for a review of a document")
def request_review(body: ReviewRequest, session: SessionDep, actor: CurrentActor, path: str = PathQuery):
    return runbooks.request_review(session, path=path, actor=actor, note=body.note)


@router.post("/runbooks/reviews", response_model=ReviewRead, status_code=status.HTTP_201_CREATED,
             summary="Record your review of a document (never its last author)")
def approve_review(body: ReviewRequest, session: SessionDep, actor: CurrentActor, path: str = PathQuery):
    return runbooks.approve_review(session, path=path, actor=actor, note=body.note)


@router.post("/runbooks/steps/{step}/run", response_model=StepRunRead | DryRun, status_code=status.HTTP_202_ACCEPTED,
             summary="Run a step (needs confirm=true; dry_run=true shows the exact command and runs nothing)")
def run_step(step: str, body: StepRunRequest, session: SessionDep, actor: CurrentActor, response: Response, path: str = PathQuery):
    if body.dry_run:
        response.status_code = status.HTTP_200_OK  # nothing was queued
        return steps.dry_run(session, path=path, step=step[:64], actor=actor)
    return steps.run_step(session, path=path, step=step[:64], actor=actor, confirm=body.confirm, incident_id=body.incident_id,
                          command_sha256=body.command_sha256)


@router.get("/runbooks/runs", response_model=list[StepRunRead], summary="A document's step runs, newest first (no output)")
def list_runs(session: SessionDep, actor: CurrentActor, path: str = PathQuery, limit: int = Query(50, ge=1, le=500)):
    return steps.list_runs(session, path=path, actor=actor, limit=limit)


@router.get("/runbooks/runs/{step_run_id}", response_model=StepRunRead, summary="One step run with its captured output")
def get_run(step_run_id: int, session: SessionDep, actor: CurrentActor):
    return steps.get_run(session, step_run_id=step_run_id, actor=actor)
