from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.queue import service as queue
from watchkeeper.queue.schemas import JobFilter, JobRead, QueueStats

router = APIRouter(tags=["worker"])


@router.get("/jobs", response_model=list[JobRead], summary="List jobs, newest first")
def list_jobs(session: SessionDep, actor: CurrentActor, filter: Annotated[JobFilter, Depends()]):
    return queue.list_jobs(session, filter=filter, actor=actor)


@router.get("/jobs/stats", response_model=QueueStats, summary="Queue depth and lag")
def job_stats(session: SessionDep, actor: CurrentActor):
    return queue.stats(session, actor=actor)


@router.get("/jobs/{job_id}", response_model=JobRead, summary="Get one job")
def get_job(job_id: int, session: SessionDep, actor: CurrentActor):
    return queue.get_job(session, job_id=job_id, actor=actor)


@router.post("/jobs/{job_id}/retry", response_model=JobRead, summary="Retry a dead job once more")
def retry_job(job_id: int, session: SessionDep, actor: CurrentActor):
    return queue.retry_job(session, job_id=job_id, actor=actor)
