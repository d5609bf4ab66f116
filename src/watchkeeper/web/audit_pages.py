from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import SessionDep
from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from watchkeeper.web.render import PageActor, render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, session: SessionDep, actor: PageActor,
              actor_name: str | None = None, action: str | None = None, target: str | None = None,
              source: str | None = None, before_seq: int | None = None):
    flt = AuditFilter(actor=actor_name or None, action=action or None, target=target or None,
                      source=source or None, before_seq=before_seq, limit=50)
    events = audit.list_events(session, filter=flt, actor=actor)
    return render(request, "audit/list.html", events=events, flt=flt, total=audit.chain_length(session))
