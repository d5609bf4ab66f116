from __future__ import annotations

from fastapi import APIRouter, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate, WindowRead

router = APIRouter(tags=["maintenance"])


@router.get("/maintenance-windows", response_model=list[WindowRead], summary="Maintenance windows (current and upcoming; all with past=true)")
def list_windows(session: SessionDep, actor: CurrentActor, service: str | None = None, past: bool = False):
    return maintenance.list_windows(session, actor=actor, service=service, include_past=past)


@router.post("/maintenance-windows", response_model=WindowRead, status_code=status.HTTP_201_CREATED,
             summary="Schedule a maintenance window (one-off, RRULE or cron)")
def create_window(body: WindowCreate, session: SessionDep, actor: CurrentActor):
    return maintenance.create_window(session, data=body, actor=actor)


@router.post("/maintenance-windows/{name}/cancel", response_model=WindowRead, summary="Cancel a maintenance window")
def cancel_window(name: str, session: SessionDep, actor: CurrentActor):
    return maintenance.cancel_window(session, name=name, actor=actor)
