"""Monitoring pages: monitors list with sparklines, a monitor's latency chart, uptime and
failures, SLOs with budget and burn chart. Charts are uPlot fed with JSON in the page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from watchkeeper import clock, egress
from watchkeeper.api.deps import SessionDep
from watchkeeper.signals import service as signals
from watchkeeper.monitoring.metrics import store
from watchkeeper.monitoring.probes import heartbeats, history
from watchkeeper.monitoring.probes import service as monitors
from watchkeeper.monitoring.probes.schemas import MonitorFilter
from watchkeeper.signals.schemas import SignalFilter
from watchkeeper.monitoring.scope import scope_of
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.web.render import FormActor, FormError, PageActor, render, submit

router = APIRouter(include_in_schema=False)


def sparkline(points: list[tuple[bool, float | None]], *, width: int = 120, height: int = 24) -> dict:
    """SVG geometry for a latency sparkline with failed checks marked (rendered without JavaScript)."""
    if not points:
        return {"line": "", "fails": [], "width": width, "height": height}
    lat = [p[1] or 0.0 for p in points]
    top = max(lat) or 1.0
    step = width / max(len(points) - 1, 1)
    coords = [(round(i * step, 1), round(height - 2 - (v / top) * (height - 4), 1)) for i, v in enumerate(lat)]
    return {
        "line": " ".join(f"{x},{y}" for x, y in coords),
        "fails": [coords[i][0] for i, p in enumerate(points) if not p[0]],
        "width": width, "height": height,
    }


def _retention(request: Request) -> store.Retention:
    return store.Retention.from_settings(request.app.state.container.settings)


@router.get("/monitors", response_class=HTMLResponse)
def monitors_page(request: Request, session: SessionDep, actor: PageActor,
                  service: str | None = None, status: str | None = None, q: str | None = None):
    flt = MonitorFilter(service=service or None, status=status or None, q=q or None)
    rows = monitors.list_monitors(session, actor=actor, filter=flt)[:500]
    names = [m.name for m in rows]
    sparks = {n: sparkline(p) for n, p in history.recent_results(session, names=names, actor=actor).items()}
    uptime = history.uptime_since(session, names=names, actor=actor, since=clock.utcnow() - dt.timedelta(hours=24))
    counts = {"up": 0, "down": 0, "pending": 0, "paused": 0}
    for m in rows:
        counts[m.status] = counts.get(m.status, 0) + 1
    return render(request, "monitoring/monitors.html", monitors=rows, sparks=sparks, uptime=uptime, flt=flt, counts=counts)


def _chart(series) -> dict:
    """uPlot data: one x axis (unix seconds) shared by every series, gaps as null."""
    xs = sorted({round(t) for s in series for t, _ in s.points})
    index = {x: i for i, x in enumerate(xs)}
    ys = []
    for s in series:
        row: list[float | None] = [None] * len(xs)
        for t, v in s.points:
            row[index[round(t)]] = round(v * 1000, 2)
        ys.append(row)
    return {"data": [xs, *ys], "labels": [s.labels.get("location", "?") for s in series]}


@router.get("/monitors/{name}", response_class=HTMLResponse)
def monitor_page(request: Request, name: str, session: SessionDep, actor: PageActor, hours: int = 24, error: FormError = None):
    m = monitors.get_monitor(session, name=name, actor=actor)
    team, svc = scope_of(session, m.service) if m.service else (None, None)
    hours = max(1, min(hours, 24 * 30))
    chart = _chart(history.latency(session, name=name, actor=actor, span=dt.timedelta(hours=hours),
                                   retention=_retention(request)))
    uptime = history.uptime(session, name=name, actor=actor, retention=_retention(request))
    failures = history.list_checks(session, name=name, actor=actor, limit=20, failures_only=True)
    pings = heartbeats.list_pings(session, name=name, actor=actor, limit=20) if m.kind == "heartbeat" else []
    signal_history = signals.list_signals(session, filter=SignalFilter(name=name, limit=20), actor=actor)
    public_url = request.app.state.container.settings.public_url.rstrip("/")
    return render(request, "monitoring/monitor.html", m=m, chart=json.dumps(chart), uptime=uptime, failures=failures,
                  pings=pings, history=signal_history, hours=hours, public_url=public_url, error=error,
                  can_change=actor.can("monitor.update", team=team, service=svc))


@router.post("/monitors/{name}/check", response_class=HTMLResponse)
def check_now(request: Request, name: str, session: SessionDep, actor: FormActor):
    monitor = monitors.prepare_check(session, name=name, actor=actor)
    session.commit()  # never hold a SQLite write lock while the probe runs
    outcome = monitors.run_check(monitor, location="ui",
                                 policy=egress.Egress.from_settings(request.app.state.container.settings),
                                 secret=request.app.state.container.settings.secret_from_env)
    return render(request, "monitoring/_check_result.html", outcome=outcome)


@router.post("/monitors/{name}/pause", response_class=HTMLResponse)
def pause(request: Request, name: str, session: SessionDep, actor: FormActor):
    return _set_enabled(request, name, session, actor, False)


@router.post("/monitors/{name}/resume", response_class=HTMLResponse)
def resume(request: Request, name: str, session: SessionDep, actor: FormActor):
    return _set_enabled(request, name, session, actor, True)


def _set_enabled(request: Request, name: str, session, actor, enabled: bool):
    return submit(session, lambda: monitors.set_enabled(session, name=name, enabled=enabled, actor=actor),
                  done=f"/monitors/{name}", refused=lambda error: monitor_page(request, name, session, actor, error=error))


@router.get("/slos", response_class=HTMLResponse)
def slos_page(request: Request, session: SessionDep, actor: PageActor, service: str | None = None):
    rows = [slos.status(session, name=s.name, actor=actor, retention=_retention(request))
            for s in slos.list_slos(session, actor=actor, service=service or None)]
    return render(request, "monitoring/slos.html", rows=rows, service=service)


@router.get("/slos/{name}", response_class=HTMLResponse)
def slo_page(request: Request, name: str, session: SessionDep, actor: PageActor, hours: int = 24):
    hours = max(1, min(hours, 24 * 30))
    st = slos.status(session, name=name, actor=actor, retention=_retention(request))
    hist = slos.burn_history(session, name=name, actor=actor, hours=hours, retention=_retention(request))
    chart = {"data": [[round(t) for t, _ in hist["burn"]], [round(v, 3) for _, v in hist["burn"]],
                      [1.0 for _ in hist["burn"]]]}
    signal_history = signals.list_signals(session, filter=SignalFilter(source="slo", name=name, limit=20), actor=actor)
    return render(request, "monitoring/slo.html", st=st, chart=json.dumps(chart), hours=hours, history=signal_history)


__all__ = ["router", "sparkline", "Annotated", "Form"]
