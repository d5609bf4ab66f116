"""REST API for monitors, metrics, alert rules, SLOs and SLA reports (under /api/v1). The
public heartbeat ping routes (/ping/…) are api/pings.py."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import ValidationError

from watchkeeper import clock, durations, egress
from watchkeeper.api.deps import CurrentActor, SessionDep, inline_defs
from watchkeeper.errors import InvalidInput
from watchkeeper.signals import service as signals
from watchkeeper.monitoring.metrics import language, rules, store
from watchkeeper.monitoring.metrics.schemas import MetricPush, PushResult, QueryResult, RuleCreate, RuleRead, RuleUpdate, SeriesRead
from watchkeeper.monitoring.probes import heartbeats, history
from watchkeeper.monitoring.probes import service as monitors
from watchkeeper.monitoring.probes.schemas import (
    CheckRead, MonitorCreate, MonitorFilter, MonitorRead, MonitorUpdate, ProbeOutcome, UptimeRead,
)
from watchkeeper.signals.schemas import SignalFilter, SignalRead
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.monitoring.slos import sla
from watchkeeper.monitoring.slos.schemas import SlaReport, SloCreate, SloRead, SloStatus, SloUpdate
from watchkeeper.validation import invalid_input

router = APIRouter(tags=["monitoring"])


def _retention(request: Request) -> store.Retention:
    return store.Retention.from_settings(request.app.state.container.settings)


# ---------------------------------------------------------------- monitors


@router.get("/monitors", response_model=list[MonitorRead], summary="List monitors with status")
def list_monitors(session: SessionDep, actor: CurrentActor, filter: Annotated[MonitorFilter, Depends()]):
    return monitors.list_monitors(session, actor=actor, filter=filter)


@router.post("/monitors", response_model=MonitorRead, status_code=status.HTTP_201_CREATED, summary="Create a monitor")
def create_monitor(body: MonitorCreate, session: SessionDep, actor: CurrentActor):
    return monitors.create_monitor(session, data=body, actor=actor)


@router.get("/monitors/{name}", response_model=MonitorRead, summary="Get a monitor with per-location state")
def get_monitor(name: str, session: SessionDep, actor: CurrentActor):
    return monitors.get_monitor(session, name=name, actor=actor)


@router.patch("/monitors/{name}", response_model=MonitorRead, summary="Update a monitor")
def update_monitor(name: str, body: MonitorUpdate, session: SessionDep, actor: CurrentActor):
    return monitors.update_monitor(session, name=name, data=body, actor=actor)


@router.delete("/monitors/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a monitor and its results")
def delete_monitor(name: str, session: SessionDep, actor: CurrentActor):
    monitors.delete_monitor(session, name=name, actor=actor)


@router.post("/monitors/{name}/pause", response_model=MonitorRead, summary="Pause a monitor (resolves its alert)")
def pause_monitor(name: str, session: SessionDep, actor: CurrentActor):
    return monitors.set_enabled(session, name=name, enabled=False, actor=actor)


@router.post("/monitors/{name}/resume", response_model=MonitorRead, summary="Resume a paused monitor")
def resume_monitor(name: str, session: SessionDep, actor: CurrentActor):
    return monitors.set_enabled(session, name=name, enabled=True, actor=actor)


@router.post("/monitors/{name}/check", response_model=ProbeOutcome,
             summary="Run a monitor once now and return what it saw (stores nothing)")
def check_monitor(name: str, session: SessionDep, actor: CurrentActor, request: Request):
    monitor = monitors.prepare_check(session, name=name, actor=actor)
    # End the read transaction before probing: a SQLite write lock must not be held for the
    # length of a probe (the target may be this very server).
    session.commit()
    return monitors.run_check(monitor, location="api",
                              policy=egress.Egress.from_settings(request.app.state.container.settings),
                              secret=request.app.state.container.settings.secret_from_env)


@router.get("/monitors/{name}/checks", response_model=list[CheckRead], summary="Recent check results, newest first")
def monitor_checks(name: str, session: SessionDep, actor: CurrentActor,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100, failures: bool = False):
    return history.list_checks(session, name=name, actor=actor, limit=limit, failures_only=failures)


@router.get("/monitors/{name}/uptime", response_model=list[UptimeRead], summary="Uptime over 24 h, 7 d and 30 d")
def monitor_uptime(name: str, session: SessionDep, actor: CurrentActor, request: Request):
    return history.uptime(session, name=name, actor=actor, retention=_retention(request))


@router.get("/monitors/{name}/pings", summary="Recent heartbeat pings, newest first")
def monitor_pings(name: str, session: SessionDep, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=500)] = 50):
    return heartbeats.list_pings(session, name=name, actor=actor, limit=limit)


@router.get("/monitors/{name}/latency", response_model=list[SeriesRead],
            summary="Latency per location (seconds) for charts; range like 24h or 7d")
def monitor_latency(name: str, session: SessionDep, actor: CurrentActor, request: Request, range: str = "24h"):
    span = _duration(range, "range")
    return history.latency(session, name=name, actor=actor, span=span, retention=_retention(request))


@router.get("/signals", response_model=list[SignalRead],
            summary="Firing/resolved transitions of monitors, heartbeats, rules and SLOs, newest first")
def list_signals(session: SessionDep, actor: CurrentActor, filter: Annotated[SignalFilter, Depends()]):
    return signals.list_signals(session, filter=filter, actor=actor)


# ---------------------------------------------------------------- metrics


def _duration(text: str, field: str) -> dt.timedelta:
    try:
        value = durations.parse(text)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None
    if value.total_seconds() <= 0:
        raise InvalidInput(f"{field} must be longer than 0s", field=field)
    return value


async def _raw_body(request: Request) -> bytes:
    """Read the body on the event loop so the handler itself can stay synchronous (it runs in
    the thread pool, where database work does not block other requests)."""
    return await request.body()


@router.post(
    "/metrics", response_model=PushResult, status_code=status.HTTP_202_ACCEPTED,
    summary="Push metric samples (Prometheus text exposition or JSON)",
    description="Send `Content-Type: text/plain` with Prometheus exposition lines, or JSON "
                '`{"samples": [{"name": "orders_total", "labels": {"region": "eu"}, "value": 42}]}`. '
                "Needs the metric.push permission (the `ingest` token scope has it).",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_defs(MetricPush.model_json_schema())},
        "text/plain": {"schema": {"type": "string"}, "example": 'orders_total{region="eu"} 42\n'},
    }}},
)
def push_metrics(request: Request, raw: Annotated[bytes, Depends(_raw_body)], session: SessionDep, actor: CurrentActor):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("application/json", ""):
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            raise InvalidInput("the request body is not valid JSON; check quoting and commas") from None
        if not isinstance(payload, dict):
            raise InvalidInput('send an object: {"samples": [{"name": ..., "value": ...}]}', field="samples")
        try:
            samples = MetricPush.model_validate(payload).samples
        except ValidationError as exc:
            raise invalid_input(exc.errors()) from None
    elif ctype.startswith("text/"):
        samples = store.parse_text(raw.decode("utf-8", errors="replace"))
    else:
        raise InvalidInput(f"content type {ctype!r} is not accepted; send application/json or text/plain exposition")
    return store.push(session, samples=samples, actor=actor, max_series=request.app.state.container.settings.metrics_max_series)


@router.get("/metrics/query", response_model=QueryResult,
            summary="Evaluate a rule-language expression over the metrics store")
def query_metrics(session: SessionDep, actor: CurrentActor, request: Request,
                  expr: Annotated[str, Query(description='e.g. avg(probe_duration_seconds[5m]) by (monitor)')]):
    try:
        parsed = language.parse(expr)
    except language.RuleSyntaxError as exc:
        raise InvalidInput(f"expr: {exc}", field="expr") from None
    values = store.query(session, parsed, actor=actor, retention=_retention(request))
    groups = [{"labels": dict(k), "value": v, **({"holds": parsed.holds(v)} if parsed.op else {})}
              for k, v in sorted(values.items())]
    return QueryResult(expr=parsed.format(), groups=groups)


@router.get("/metrics/series", response_model=list[SeriesRead], summary="Points of the series a selector matches")
def series(session: SessionDep, actor: CurrentActor, request: Request,
           selector: Annotated[str, Query(description='e.g. orders_total{region="eu"}')], range: str = "1h"):
    try:
        sel = language.parse_selector(selector)
    except language.RuleSyntaxError as exc:
        raise InvalidInput(f"selector: {exc}", field="selector") from None
    end = clock.utcnow()
    return store.series(session, sel, actor=actor, start=end - _duration(range, "range"), end=end,
                        retention=_retention(request))


# ---------------------------------------------------------------- alert rules


@router.get("/alert-rules", response_model=list[RuleRead], response_model_by_alias=True, summary="List alert rules")
def list_rules(session: SessionDep, actor: CurrentActor, service: str | None = None):
    return rules.list_rules(session, actor=actor, service=service)


@router.post("/alert-rules", response_model=RuleRead, status_code=status.HTTP_201_CREATED, summary="Create an alert rule")
def create_rule(body: RuleCreate, session: SessionDep, actor: CurrentActor):
    return rules.create_rule(session, data=body, actor=actor)


@router.get("/alert-rules/{name}", response_model=RuleRead, summary="Get an alert rule with its pending and firing alerts")
def get_rule(name: str, session: SessionDep, actor: CurrentActor):
    return rules.get_rule(session, name=name, actor=actor)


@router.patch("/alert-rules/{name}", response_model=RuleRead, summary="Update an alert rule")
def update_rule(name: str, body: RuleUpdate, session: SessionDep, actor: CurrentActor):
    return rules.update_rule(session, name=name, data=body, actor=actor)


@router.delete("/alert-rules/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an alert rule")
def delete_rule(name: str, session: SessionDep, actor: CurrentActor):
    rules.delete_rule(session, name=name, actor=actor)


# ---------------------------------------------------------------- SLOs


@router.get("/slos", response_model=list[SloRead], summary="List SLOs")
def list_slos(session: SessionDep, actor: CurrentActor, service: str | None = None):
    return slos.list_slos(session, actor=actor, service=service)


@router.post("/slos", response_model=SloRead, status_code=status.HTTP_201_CREATED, summary="Create an SLO")
def create_slo(body: SloCreate, session: SessionDep, actor: CurrentActor):
    return slos.create_slo(session, data=body, actor=actor)


@router.get("/slos/{name}", response_model=SloStatus, summary="An SLO with attainment, error budget and burn rates")
def get_slo(name: str, session: SessionDep, actor: CurrentActor, request: Request):
    return slos.status(session, name=name, actor=actor, retention=_retention(request))


@router.patch("/slos/{name}", response_model=SloRead, summary="Update an SLO")
def update_slo(name: str, body: SloUpdate, session: SessionDep, actor: CurrentActor):
    return slos.update_slo(session, name=name, data=body, actor=actor)


@router.delete("/slos/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an SLO")
def delete_slo(name: str, session: SessionDep, actor: CurrentActor):
    slos.delete_slo(session, name=name, actor=actor)


@router.get("/sla", response_model=SlaReport, summary="Monthly SLA attainment per service")
def sla_report(session: SessionDep, actor: CurrentActor, request: Request,
               month: Annotated[str | None, Query(description="YYYY-MM; default: this month")] = None):
    month = month or clock.utcnow().strftime("%Y-%m")
    return sla.sla_report(session, month=month, actor=actor,
                           retention=_retention(request))
