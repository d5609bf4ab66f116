from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate, BackupRead, RunRead
from watchkeeper.errors import InvalidInput

router = APIRouter(tags=["backups"])


@router.get("/backups", response_model=list[BackupRead], summary="Backup jobs the caller may read (of one service with ?service=)")
def list_backups(session: SessionDep, actor: CurrentActor, service: str | None = Query(None, max_length=100)):
    return backups.list_backups(session, actor=actor, service=service)


@router.post("/backups", response_model=BackupRead, status_code=status.HTTP_201_CREATED, summary="Declare a backup job")
def create_backup(body: BackupCreate, session: SessionDep, actor: CurrentActor):
    return backups.create_backup(session, data=body, actor=actor)


@router.get("/backups/{name}", response_model=BackupRead, summary="One backup job")
def get_backup(name: str, session: SessionDep, actor: CurrentActor):
    return backups.get_backup(session, name=name, actor=actor)


@router.put("/backups/{name}", response_model=BackupRead, summary="Replace a backup job's definition")
def update_backup(name: str, body: BackupCreate, session: SessionDep, actor: CurrentActor):
    if body.name != name:
        raise InvalidInput(f"the body names '{body.name}' but the URL names '{name[:100]}'; a job cannot be renamed", field="name")
    return backups.update_backup(session, data=body, actor=actor)


@router.delete("/backups/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a backup job and its run history")
def delete_backup(name: str, session: SessionDep, actor: CurrentActor):
    backups.delete_backup(session, name=name, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/backups/{name}/runs", response_model=list[RunRead], summary="A backup job's runs, newest first")
def history(name: str, session: SessionDep, actor: CurrentActor, kind: Literal["backup", "restore_test"] | None = None,
            limit: int = Query(50, ge=1, le=1000)):
    return backups.history(session, name=name, actor=actor, kind=kind, limit=limit)


@router.post("/backups/{name}/run", response_model=RunRead, status_code=status.HTTP_202_ACCEPTED,
             summary="Queue a backup of the job now")
def run_backup(name: str, session: SessionDep, actor: CurrentActor):
    return backups.request_run(session, name=name, kind="backup", actor=actor)


@router.post("/backups/{name}/restore-test", response_model=RunRead, status_code=status.HTTP_202_ACCEPTED,
             summary="Queue a restore test of the job's latest good backup")
def restore_test(name: str, session: SessionDep, actor: CurrentActor):
    return backups.request_run(session, name=name, kind="restore_test", actor=actor)


@router.get("/backup-runs/{run_id}", response_model=RunRead, summary="One run with its captured output")
def get_run(run_id: int, session: SessionDep, actor: CurrentActor):
    return backups.get_run(session, run_id=run_id, actor=actor)
