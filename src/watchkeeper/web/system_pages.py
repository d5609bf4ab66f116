from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import SessionDep
from watchkeeper.web.render import PageActor, render
from watchkeeper.queue import service as queue
from watchkeeper.queue.schemas import JobFilter

router = APIRouter(include_in_schema=False)


@router.get("/jobs", response_class=HTMLResponse)
def jobs(request: Request, session: SessionDep, actor: PageActor):
    return render(request, "system/jobs.html", jobs=queue.list_jobs(session, filter=JobFilter(limit=100), actor=actor),
                  stats=queue.stats(session, actor=actor))
