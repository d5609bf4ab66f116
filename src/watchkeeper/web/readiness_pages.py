"""Readiness pages: the scorecard grid, a service's readiness page (evidence, waivers,
attestations, item history, audit suites, sign-offs) and its forms."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from watchkeeper.api.deps import SessionDep
from watchkeeper.assessments import service as assessments
from watchkeeper.auth.service import Actor
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.stages import ORDER, Stage
from watchkeeper.errors import WatchkeeperError
from watchkeeper.readiness import continuous, evaluation, waivers
from watchkeeper.readiness.schemas import AttestationCreate, WaiverCreate
from watchkeeper.signoffs import service as signoffs
from watchkeeper.signoffs.schemas import SignoffCreate
from watchkeeper.web.render import FormActor, PageActor, form_error, render

router = APIRouter(include_in_schema=False)


def _stage(value: str | None, default: Stage) -> Stage:
    return Stage(value) if value in Stage.__members__ else default


@router.get("/readiness", response_class=HTMLResponse)
def scorecard_page(request: Request, session: SessionDep, actor: PageActor, stage: str | None = None, team: str | None = None):
    chosen = _stage(stage, Stage.PROD)
    card = evaluation.scorecard(session, stage=chosen, team=team or None, actor=actor)
    team_rows = teams.list_teams(session, actor=actor)
    return render(request, "readiness/scorecard.html", card=card, stages=ORDER, teams=team_rows, team=team or "")


def _default_stage(current: Stage) -> Stage:
    """The page shows what the next promotion needs; a PROD service is judged as PROD."""
    return ORDER[current.rank + 1] if current is not Stage.PROD else Stage.PROD


def _page(request: Request, session, actor: Actor, name: str, *, stage: str | None = None, error: str | None = None,
          form: str | None = None, status_code: int = 200):
    svc = catalog.get_service(session, name=name, actor=actor)
    chosen = _stage(stage, _default_stage(svc.stage))
    report = evaluation.get_report(session, service=name, stage=chosen, actor=actor)
    by_check = defaultdict(list)
    for entry in continuous.history(session, service=name, actor=actor, limit=1000):
        by_check[entry.check].append(entry)
    return render(
        request, "readiness/service.html", status_code=status_code, svc=svc, report=report, stages=ORDER,
        history=by_check, audits=assessments.service_audits(session, service=name, actor=actor),
        signoffs=signoffs.list_signoffs(session, service=name, actor=actor), roles=signoffs.list_roles(session, actor=actor),
        checkpoints=signoffs.checkpoints(session, actor=actor),
        waivers=waivers.list_waivers(session, service=name, actor=actor),
        attestable=[i for i in report.items if i.kind.value == "attestation"],
        regression_since=continuous.regression_state(session, service=name, actor=actor),
        error=error, form=form,
    )


@router.get("/services/{name}/readiness", response_class=HTMLResponse)
def service_page(request: Request, name: str, session: SessionDep, actor: PageActor, stage: str | None = None):
    return _page(request, session, actor, name, stage=stage)


def _attempt(request: Request, session, actor: Actor, name: str, form: str, stage: str, action):
    """Run a form's action; on a user error re-render the page with the message next to the form."""
    try:
        action()
    except (WatchkeeperError, ValidationError, ValueError) as exc:
        session.rollback()
        status = getattr(exc, "status_code", 422)
        return _page(request, session, actor, name, stage=stage, error=form_error(exc), form=form, status_code=status)
    anchor = {"waiver": "items", "attestation": "items", "signoff": "signoffs", "finding": "audits"}.get(form, "items")
    return RedirectResponse(f"/services/{name}/readiness?stage={stage}#{anchor}", status_code=303)


@router.post("/services/{name}/readiness/waivers", response_class=HTMLResponse)
def waive(request: Request, name: str, session: SessionDep, actor: FormActor, check: Annotated[str, Form()],
          reason: Annotated[str, Form()] = "", expires_in: Annotated[str, Form()] = "30d", stage: Annotated[str, Form()] = "PROD"):
    return _attempt(request, session, actor, name, "waiver", stage, lambda: waivers.grant_waiver(
        session, service=name, actor=actor, data=WaiverCreate(check=check, reason=reason, expires_in=expires_in)))


@router.post("/services/{name}/readiness/waivers/{waiver_id}/revoke", response_class=HTMLResponse)
def unwaive(request: Request, name: str, waiver_id: int, session: SessionDep, actor: FormActor,
            reason: Annotated[str, Form()] = "", stage: Annotated[str, Form()] = "PROD"):
    return _attempt(request, session, actor, name, "waiver", stage, lambda: waivers.revoke_waiver(
        session, service=name, waiver_id=waiver_id, reason=reason, actor=actor))


@router.post("/services/{name}/readiness/attestations", response_class=HTMLResponse)
def attest(request: Request, name: str, session: SessionDep, actor: FormActor, check: Annotated[str, Form()],
           link: Annotated[str, Form()] = "", by: Annotated[str, Form()] = "", expires_in: Annotated[str, Form()] = "90d",
           note: Annotated[str, Form()] = "", stage: Annotated[str, Form()] = "PROD"):
    return _attempt(request, session, actor, name, "attestation", stage, lambda: waivers.attest(
        session, service=name, actor=actor,
        data=AttestationCreate(check=check, by=by or None, link=link, expires_in=expires_in, note=note or None)))


@router.post("/services/{name}/signoffs", response_class=HTMLResponse)
def sign_off(request: Request, name: str, session: SessionDep, actor: FormActor, checkpoint: Annotated[str, Form()],
             role: Annotated[str, Form()], note: Annotated[str, Form()] = "", stage: Annotated[str, Form()] = "PROD"):
    return _attempt(request, session, actor, name, "signoff", stage, lambda: signoffs.sign_off(
        session, service=name, actor=actor, data=SignoffCreate(checkpoint=checkpoint, role=role, note=note)))


@router.post("/services/{name}/signoffs/{signoff_id}/revoke", response_class=HTMLResponse)
def revoke_signoff(request: Request, name: str, signoff_id: int, session: SessionDep, actor: FormActor,
                   reason: Annotated[str, Form()] = "", stage: Annotated[str, Form()] = "PROD"):
    return _attempt(request, session, actor, name, "signoff", stage, lambda: signoffs.revoke(
        session, service=name, signoff_id=signoff_id, reason=reason, actor=actor))


@router.post("/services/{name}/readiness/findings/{finding_id}/resolve", response_class=HTMLResponse)
def resolve_finding(request: Request, name: str, finding_id: int, session: SessionDep, actor: FormActor,
                    reason: Annotated[str, Form()] = "", stage: Annotated[str, Form()] = "PROD"):
    return _attempt(request, session, actor, name, "finding", stage, lambda: assessments.resolve_finding(
        session, service=name, finding_id=finding_id, reason=reason, actor=actor))
