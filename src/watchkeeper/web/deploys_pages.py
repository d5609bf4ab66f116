"""Deploy pages: the deploy list (per service), a deploy's page (test evidence, rollback target,
gate verdict, rollout steps with their analysis, rollbacks with timed legs, its timeline), and
the change calendar (week or month, conflicts first) with freeze management."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from watchkeeper import clock
from watchkeeper.api.deps import SessionDep
from watchkeeper.deploys import calendar, freezes, rollout
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.schemas import FreezeCreate
from watchkeeper.errors import InvalidInput
from watchkeeper.web.render import FormActor, FormError, PageActor, render, submit

router = APIRouter(include_in_schema=False)

STATUSES = ("planned", "in_progress", "succeeded", "failed", "rolled_back", "aborted")


@router.get("/deploys", response_class=HTMLResponse)
def deploys_page(request: Request, session: SessionDep, actor: PageActor, service: str | None = None, status: str | None = None):
    rows = deploys.list_deploys(session, actor=actor, service=service or None,
                                status=status if status in STATUSES else None, limit=200)
    recent = rollbacks.list_rollbacks(session, actor=actor, service=service or None, limit=10)
    return render(request, "deploys/list.html", deploys=rows, rollbacks=recent, service=service or "", status=status or "",
                  statuses=STATUSES)


@router.get("/deploys/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, session: SessionDep, actor: PageActor, view: str = "week", start: str | None = None,
                  service: str | None = None, error: FormError = None):
    view = "month" if view == "month" else "week"
    try:
        day = dt.date.fromisoformat(start) if start else clock.utcnow().date()
    except ValueError:
        raise InvalidInput(f"start {start[:20]!r} is not a date like 2026-12-07", field="start") from None
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())
        days = [first + dt.timedelta(days=i) for i in range(7)]
        step = dt.timedelta(days=7)
    else:
        first = day.replace(day=1)
        grid_start = first - dt.timedelta(days=first.weekday())
        days = [grid_start + dt.timedelta(days=i) for i in range(42)]
        step = dt.timedelta(days=32)
    begin = dt.datetime.combine(days[0], dt.time(), dt.UTC)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(), dt.UTC)
    cal = calendar.change_calendar(session, actor=actor, start=begin, end=end, service=service or None)
    flagged = {ref for c in cal.conflicts for ref in c.refs}
    by_day: dict[dt.date, list] = {d: [] for d in days}
    for e in cal.entries:
        d0 = max(e.start, begin).date()
        d1 = (min(e.end, end) - dt.timedelta(microseconds=1)).date()
        d = d0
        while d <= d1:
            if d in by_day:
                by_day[d].append(e)
            d += dt.timedelta(days=1)
    prev_start = (first - step).replace(day=1) if view == "month" else first - step
    next_start = (first + step).replace(day=1) if view == "month" else first + step
    return render(request, "deploys/calendar.html", cal=cal, days=days, by_day=by_day, flagged=flagged, view=view,
                  month=first.month, first=first, prev_start=prev_start, next_start=next_start, service=service or "",
                  freezes=freezes.list_freezes(session, actor=actor, service=service or None), error=error)


@router.post("/deploys/freezes", response_class=HTMLResponse)
def add_freeze(request: Request, session: SessionDep, actor: FormActor, name: Annotated[str, Form()],
               starts_at: Annotated[str, Form()], duration: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
               service: Annotated[str, Form()] = "", team: Annotated[str, Form()] = ""):
    def create():
        data = FreezeCreate.model_validate({"name": name.strip(), "starts_at": starts_at.strip(), "duration": duration.strip(),
                                            "reason": reason.strip() or None, "service": service.strip() or None,
                                            "team": team.strip() or None})
        freezes.create_freeze(session, data=data, actor=actor)

    return submit(session, create, done="/deploys/calendar",
                  refused=lambda error: calendar_page(request, session, actor, error=error))


@router.post("/deploys/freezes/{name}/delete", response_class=HTMLResponse)
def delete_freeze(request: Request, name: str, session: SessionDep, actor: FormActor):
    return submit(session, lambda: freezes.delete_freeze(session, name=name, actor=actor), done="/deploys/calendar",
                  refused=lambda error: calendar_page(request, session, actor, error=error))


@router.get("/deploys/{deploy_id:int}", response_class=HTMLResponse)
def deploy_page(request: Request, deploy_id: int, session: SessionDep, actor: PageActor):
    d = deploys.get_deploy(session, deploy_id=deploy_id, actor=actor)
    steps = rollout.steps(session, deploy_id=deploy_id, actor=actor) if d.rollout else []
    backs = [r for r in rollbacks.list_rollbacks(session, actor=actor, service=d.service, limit=200) if r.deploy_id == d.id]
    timeline = [(d.started_at, "started", f"{d.version} to {d.environment} by {d.triggered_by}")]
    for s in steps:
        if s.get("hook_at"):
            timeline.append((s["hook_at"], "traffic", f"{s['weight']} % to {d.version}"))
        if s.get("finished_at"):
            timeline.append((s["finished_at"], f"step {s['status']}", f"step {s['idx'] + 1} ({s['weight']} %)"
                             + (f": {s['reason']}" if s.get("reason") else "")))
    for r in backs:
        if r.started_at:
            timeline.append((r.started_at, "rollback", f"{r.trigger} rollback to {r.to_version} started"))
        if r.finished_at:
            took = f" — healthy in {r.time_to_healthy_seconds:.1f}s" if r.time_to_healthy_seconds is not None else ""
            timeline.append((r.finished_at, f"rollback {r.status}", f"to {r.to_version}{took}"))
    if d.finished_at:
        timeline.append((d.finished_at, d.status, d.reason or ""))
    timeline.sort(key=lambda t: clock.ensure_aware(t[0]))
    return render(request, "deploys/deploy.html", d=d, steps=steps, rollbacks=backs, timeline=timeline)
