"""Alert pipeline pages: alerts (list, detail with history and every notification attempt),
silences, maintenance windows, fire drills, alert quality, and the public /ack/<token> pages
behind the signed one-click links in messages (GET confirms, POST acts)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from watchkeeper import clock
from watchkeeper.alerting import links
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.schemas import AlertFilter, AlertState, AlertStatus, Quality, SilenceCreate
from watchkeeper.api.deps import SessionDep
from watchkeeper.auth.service import Actor
from watchkeeper.errors import PermissionDenied
from watchkeeper.labels import split_matchers
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate
from watchkeeper.runbooks import documents as runbook_documents
from watchkeeper.validation import zone
from watchkeeper.web.render import FormActor, FormError, PageActor, render, submit

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, actor: PageActor, status: str | None = None, state: str | None = None,
                service: str | None = None, q: str | None = None, group: int | None = None):
    flt = AlertFilter(status=AlertStatus(status) if status in ("firing", "resolved") else None,
                      state=AlertState(state) if state in AlertState.__members__.values() else None,
                      service=service or None, q=q or None)
    rows = alerting.list_alerts(session, filter=flt, actor=actor, group_id=group)
    return render(request, "alerting/alerts.html", alerts=rows, flt=flt, group=group, states=list(AlertState))


@router.get("/alerts/drills", response_class=HTMLResponse)
def drills_page(request: Request, session: SessionDep, actor: PageActor, service: str | None = None, error: FormError = None):
    return render(request, "alerting/drills.html", drills=alerting.list_drills(session, actor=actor, service=service or None),
                  service=service or "", error=error)


@router.post("/alerts/drills", response_class=HTMLResponse)
def start_drill(request: Request, session: SessionDep, actor: FormActor, service: Annotated[str, Form()],
                deadline: Annotated[str, Form()] = "15m"):
    from watchkeeper import durations

    return submit(session, lambda: alerting.start_drill(session, service=service.strip(), deadline=durations.parse(deadline),
                                                        actor=actor),
                  done=f"/alerts/drills?service={service.strip()}",
                  refused=lambda error: drills_page(request, session, actor, service=service, error=error))


@router.get("/alerts/quality", response_class=HTMLResponse)
def quality_page(request: Request, session: SessionDep, actor: PageActor, days: int = 30, service: str | None = None):
    days = max(1, min(days, 365))
    rows = alerting.quality_report(session, actor=actor, since=clock.utcnow() - dt.timedelta(days=days), service=service or None)
    return render(request, "alerting/quality.html", rows=rows, days=days, service=service or "")


@router.get("/alerts/{alert_id:int}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: int, session: SessionDep, actor: PageActor, error: FormError = None):
    alert = alerting.get_alert(session, alert_id=alert_id, actor=actor)
    return render(request, "alerting/alert.html", alert=alert, history=alerting.history(session, alert_id=alert_id, actor=actor),
                  notifications=alerting.notifications_for_alert(session, alert_id=alert_id, actor=actor), error=error,
                  runbooks=_runbooks(session, alert, actor))


def _runbooks(session, alert, actor: Actor) -> list:
    """The runbooks covering the alert (front matter or its runbook_url), those the actor may read."""
    try:
        return runbook_documents.alert_runbooks(session, labels=alert.labels, annotations=alert.annotations, actor=actor)
    except PermissionDenied:
        return []


def _act(request: Request, session, actor: Actor, alert_id: int, fn):
    return submit(session, fn, done=f"/alerts/{alert_id}",
                  refused=lambda error: alert_page(request, alert_id, session, actor, error=error))


@router.post("/alerts/{alert_id:int}/ack", response_class=HTMLResponse)
def ack(request: Request, alert_id: int, session: SessionDep, actor: FormActor, note: Annotated[str, Form()] = ""):
    return _act(request, session, actor, alert_id,
                lambda: alerting.acknowledge(session, alert_ids=[alert_id], actor=actor, note=note or None))


@router.post("/alerts/{alert_id:int}/resolve", response_class=HTMLResponse)
def resolve(request: Request, alert_id: int, session: SessionDep, actor: FormActor, note: Annotated[str, Form()] = ""):
    return _act(request, session, actor, alert_id,
                lambda: alerting.resolve(session, alert_ids=[alert_id], actor=actor, note=note or None))


@router.post("/alerts/{alert_id:int}/mark", response_class=HTMLResponse)
def mark(request: Request, alert_id: int, session: SessionDep, actor: FormActor, quality: Annotated[str, Form()]):
    return _act(request, session, actor, alert_id,
                lambda: alerting.mark(session, alert_ids=[alert_id], quality=Quality(quality), actor=actor))


@router.get("/silences", response_class=HTMLResponse)
def silences_page(request: Request, session: SessionDep, actor: PageActor, all: bool = False, error: FormError = None,
                  matchers: str = "", comment: str = "", duration: str = "2h"):
    return render(request, "alerting/silences.html", silences=alerting.list_silences(session, actor=actor, include_expired=all),
                  show_all=all,
                  error=error, form={"matchers": matchers, "comment": comment, "duration": duration})


@router.post("/silences", response_class=HTMLResponse)
def create_silence(request: Request, session: SessionDep, actor: FormActor, matchers: Annotated[str, Form()] = "",
                   comment: Annotated[str, Form()] = "", duration: Annotated[str, Form()] = "2h"):
    def create():
        data = SilenceCreate(matchers=split_matchers(matchers) or [""], duration=duration, comment=comment)
        alerting.create_silence(session, data=data, actor=actor)

    return submit(session, create, done="/silences", refused=lambda error: silences_page(
        request, session, actor, error=error, matchers=matchers, comment=comment, duration=duration))


@router.post("/silences/{silence_id:int}/expire", response_class=HTMLResponse)
def expire_silence(request: Request, silence_id: int, session: SessionDep, actor: FormActor):
    return submit(session, lambda: alerting.expire_silence(session, silence_id=silence_id, actor=actor), done="/silences",
                  refused=lambda error: silences_page(request, session, actor, error=error))


@router.get("/maintenance", response_class=HTMLResponse)
def maintenance_page(request: Request, session: SessionDep, actor: PageActor, past: bool = False, error: FormError = None):
    return render(request, "alerting/maintenance.html", windows=maintenance.list_windows(session, actor=actor, include_past=past),
                  past=past,
                  error=error, now=clock.utcnow())


@router.post("/maintenance", response_class=HTMLResponse)
def create_window(request: Request, session: SessionDep, actor: FormActor, name: Annotated[str, Form()] = "",
                  service: Annotated[str, Form()] = "", starts_at: Annotated[str, Form()] = "", duration: Annotated[str, Form()] = "1h",
                  rrule: Annotated[str, Form()] = "", cron: Annotated[str, Form()] = "", timezone: Annotated[str, Form()] = "UTC",
                  matchers: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = ""):
    def create():
        start = dt.datetime.fromisoformat(starts_at) if starts_at else clock.utcnow()
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone(timezone or "UTC"))
        data = WindowCreate(name=name.strip(), service=service.strip() or None, starts_at=start, duration=duration,
                            rrule=rrule.strip() or None, cron=cron.strip() or None, timezone=timezone.strip() or "UTC",
                            matchers=split_matchers(matchers), comment=comment or None)
        maintenance.create_window(session, data=data, actor=actor)

    return submit(session, create, done="/maintenance", refused=lambda error: maintenance_page(request, session, actor, error=error))


@router.post("/maintenance/{name}/cancel", response_class=HTMLResponse)
def cancel_window(request: Request, name: str, session: SessionDep, actor: FormActor):
    return submit(session, lambda: maintenance.cancel_window(session, name=name, actor=actor), done="/maintenance",
                  refused=lambda error: maintenance_page(request, session, actor, error=error))


# ---------------------------------------------------------------- signed one-click links (public)

_ACTION_TEXT = {"ack": "Acknowledge", "resolve": "Resolve", "actionable": "Mark as actionable", "noise": "Mark as noise"}


def _link_targets(session, claims: links.Claims):
    return alerting.alerts_of_link(session, kind=claims.kind, ident=claims.ident)


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_link(request: Request, token: str, session: SessionDep):
    settings = request.app.state.container.settings
    claims = links.verify(settings, token)
    return render(request, "alerting/ack.html", claims=claims, action_text=_ACTION_TEXT[claims.action],
                  alerts=_link_targets(session, claims), done=None, token=token)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_link_confirm(request: Request, token: str, session: SessionDep, note: Annotated[str, Form()] = ""):
    settings = request.app.state.container.settings
    claims = links.verify(settings, token)
    # The signed link is the credential: it grants exactly this action on these alerts.
    actor = Actor.system(f"link:{claims.receiver}", "ui")
    kwargs = {"group_id": claims.ident} if claims.kind == "g" else {"alert_ids": [claims.ident]}
    note = note.strip() or None
    if claims.action == "ack":
        done = alerting.acknowledge(session, actor=actor, note=note, **kwargs)
    elif claims.action == "resolve":
        done = alerting.resolve(session, actor=actor, note=note, **kwargs)
    else:
        if claims.kind == "g":
            kwargs = {"alert_ids": [a.id for a in _link_targets(session, claims)]}
        done = alerting.mark(session, quality=Quality(claims.action), actor=actor, note=note, **kwargs)
    return render(request, "alerting/ack.html", claims=claims, action_text=_ACTION_TEXT[claims.action], alerts=[], done=done,
                  token=token)
