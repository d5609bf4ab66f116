from __future__ import annotations

from fastapi import APIRouter, Query, Request, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.assessments import service as assessments
from watchkeeper.assessments import webcheck
from watchkeeper.assessments._suites import Suite
from watchkeeper.assessments.schemas import FindingRead, FindingResolve, ResultCreate, RunRead, ServiceAudits
from watchkeeper.egress import Egress

router = APIRouter(tags=["audits"])


@router.get("/services/{name}/audits", response_model=ServiceAudits,
            summary="Audit suites of a service: level passed, each level's problems, open findings")
def get_audits(name: str, session: SessionDep, actor: CurrentActor):
    return assessments.service_audits(session, service=name, actor=actor)


@router.get("/services/{name}/audits/{suite}/results", response_model=list[RunRead], summary="Audit runs of one suite, newest first")
def list_results(name: str, suite: Suite, session: SessionDep, actor: CurrentActor, limit: int = Query(20, ge=1, le=500)):
    return assessments.list_runs(session, service=name, actor=actor, suite=suite.value, limit=limit)


@router.post("/services/{name}/audits/{suite}/results", response_model=RunRead, status_code=status.HTTP_201_CREATED,
             summary="Post an external tool's audit result (tool, level, findings with severity, link)")
def post_result(name: str, suite: Suite, body: ResultCreate, session: SessionDep, actor: CurrentActor):
    return assessments.record_result(session, service=name, suite=suite.value, data=body, actor=actor)


@router.post("/services/{name}/audits/{suite}/run", response_model=RunRead, status_code=status.HTTP_201_CREATED,
             summary="Run a suite's built-in checks now (security visits the service's public URL)")
def run_suite(name: str, suite: Suite, session: SessionDep, actor: CurrentActor, request: Request):
    url = assessments.target_url(session, service=name, suite=suite.value, actor=actor)
    session.rollback()  # no transaction (and on SQLite no write lock) held during the network visit
    facts = webcheck.gather(url, policy=Egress.from_settings(request.app.state.container.settings)) if url else None
    return assessments.run_builtin(session, service=name, suite=suite.value, actor=actor, web=facts)


@router.post("/services/{name}/audit-findings/{finding_id}/resolve", response_model=FindingRead,
             summary="Resolve an open audit finding with a reason")
def resolve_finding(name: str, finding_id: int, body: FindingResolve, session: SessionDep, actor: CurrentActor):
    return assessments.resolve_finding(session, service=name, finding_id=finding_id, reason=body.reason, actor=actor)
