from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import SessionDep
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.stages import ORDER, Stage
from watchkeeper.catalog.schemas import ServiceFilter
from watchkeeper.web import panels
from watchkeeper.web.render import FormActor, FormError, PageActor, render, submit

router = APIRouter(include_in_schema=False)


@router.get("/services", response_class=HTMLResponse)
def services(request: Request, session: SessionDep, actor: PageActor,
             stage: str | None = None, team: str | None = None, q: str | None = None):
    flt = ServiceFilter(stage=Stage(stage) if stage in Stage.__members__ else None, team=team or None, q=q or None)
    rows = catalog.list_services(session, actor=actor, filter=flt)
    team_rows = teams.list_teams(session, actor=actor)
    return render(request, "catalog/services.html", services=rows, teams=team_rows, stages=ORDER, flt=flt)


@router.get("/services/{name}", response_class=HTMLResponse)
def service_detail(request: Request, name: str, session: SessionDep, actor: PageActor, error: FormError = None):
    svc = catalog.get_service(session, name=name, actor=actor)
    history = catalog.stage_history(session, name=name, actor=actor)
    nxt = ORDER[svc.stage.rank + 1] if svc.stage.rank + 1 < len(ORDER) else None
    lower = ORDER[: svc.stage.rank]
    hub = panels.collect("service", session, actor=actor, service=name)  # every domain's panel for this service
    return render(request, "catalog/service.html", svc=svc, history=history, next_stage=nxt, lower=lower, error=error,
                  panels=hub)


@router.post("/services/{name}/promote", response_class=HTMLResponse)
def promote(request: Request, name: str, session: SessionDep, actor: FormActor, to: Annotated[str, Form()]):
    return submit(session, lambda: catalog.promote(session, name=name, to=Stage(to), actor=actor), done=f"/services/{name}",
                  refused=lambda error: service_detail(request, name, session, actor, error=error))


@router.post("/services/{name}/demote", response_class=HTMLResponse)
def demote(request: Request, name: str, session: SessionDep, actor: FormActor,
           to: Annotated[str, Form()], reason: Annotated[str, Form()] = ""):
    return submit(session, lambda: catalog.demote(session, name=name, to=Stage(to), reason=reason, actor=actor),
                  done=f"/services/{name}", refused=lambda error: service_detail(request, name, session, actor, error=error))
