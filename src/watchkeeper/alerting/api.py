"""REST routes of the alert pipeline: ingest (generic, Alertmanager, Grafana), alerts, groups,
routing, silences, drills, quality and notifications. Thin: the service does the work."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.schemas import (
    ActionRequest, AlertEventRead, AlertFilter, AlertRead, DrillCreate, DrillRead, GroupRead, IngestResult, MarkRequest,
    GenericBatch, QualityRow, ReceiverRead, RouteExplain, SilenceCreate, SilenceRead,
)
from watchkeeper.alerting.sources.alertmanager.parser import AmWebhook
from watchkeeper.alerting.sources.grafana.parser import GrafanaWebhook
from watchkeeper.alerting.sources import SOURCES
from watchkeeper.api.deps import CurrentActor, SessionDep, hot_path_actor, raw_body_openapi
from watchkeeper.errors import InvalidInput, WatchkeeperError
from watchkeeper.labels import parse_label_list
from watchkeeper.notify import service as notify
from watchkeeper.notify.schemas import OutboxFilter, OutboxRead

router = APIRouter(tags=["alerting"])

MAX_INGEST_BYTES = 2 * 1024 * 1024


class PayloadTooLarge(WatchkeeperError):
    code = "payload_too_large"
    status_code = 413


async def _read_body(request: Request) -> bytes:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_INGEST_BYTES:
            raise PayloadTooLarge(f"request body is larger than {MAX_INGEST_BYTES // 1024 // 1024} MiB; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


# Bodies up to this size are parsed on the event loop (well under a millisecond for a typical
# Alertmanager webhook); larger ones, and callers whose permission needs a database lookup,
# are handled in the thread pool so the loop is never blocked for long.
INLINE_BYTES = 64 * 1024
WRITE_TIMEOUT = 60.0


def _parse_and_submit(request: Request, *, body: bytes, source: str, actor):
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise InvalidInput(f"the request body is not valid JSON ({exc}); check quoting and commas", code="alert.invalid_payload") from None
    alerts = SOURCES[source](data)
    return alerting.submit_ingest(session_factory=request.app.state.container.session_factory, alerts=alerts,
                                  source=source, actor=actor)


async def _ingest(request: Request, source: str) -> IngestResult:
    # The hot path makes no thread hop: a cached token, a small body parsed here, and the
    # writer's future awaited without blocking a pool thread.
    actor = await hot_path_actor(request)
    body = await _read_body(request)
    if len(body) <= INLINE_BYTES and actor.can("alert.ingest"):
        future = _parse_and_submit(request, body=body, source=source, actor=actor)
    else:
        future = await run_in_threadpool(_parse_and_submit, request, body=body, source=source, actor=actor)
    return await asyncio.wait_for(asyncio.wrap_future(future), WRITE_TIMEOUT)


INGEST_DOC = ("A 2xx means every alert of the batch is committed. Retries of the same alert are deduplicated "
              "by fingerprint. Bodies are limited to 2 MiB and 5,000 alerts; a token with scope `ingest` suffices.")


def _generic_body() -> dict:
    """{"alerts": [...]} or a bare list of alerts (generic/parser.py accepts both)."""
    batch = GenericBatch.model_json_schema()
    defs = batch.pop("$defs")
    return {"anyOf": [batch, batch["properties"]["alerts"]], "$defs": defs}


@router.post("/alerts", response_model=IngestResult, summary="Ingest alerts (generic JSON, batches)", description=INGEST_DOC,
             openapi_extra=raw_body_openapi(_generic_body()))
async def ingest_generic(request: Request):
    return await _ingest(request, "api")


@router.post("/integrations/alertmanager", response_model=IngestResult,
             summary="Ingest a Prometheus Alertmanager webhook (payload version 4)", description=INGEST_DOC,
             openapi_extra=raw_body_openapi(AmWebhook.model_json_schema()))
async def ingest_alertmanager(request: Request):
    return await _ingest(request, "alertmanager")


@router.post("/integrations/grafana", response_model=IngestResult, summary="Ingest a Grafana alerting webhook",
             description=INGEST_DOC, openapi_extra=raw_body_openapi(GrafanaWebhook.model_json_schema()))
async def ingest_grafana(request: Request):
    return await _ingest(request, "grafana")


@router.get("/alerts", response_model=list[AlertRead], summary="List alerts (filter by status, state, service)")
def list_alerts(session: SessionDep, actor: CurrentActor, filter: Annotated[AlertFilter, Depends()]):
    return alerting.list_alerts(session, filter=filter, actor=actor)


@router.get("/alerts/{alert_id}", response_model=AlertRead, summary="Get one alert")
def get_alert(alert_id: int, session: SessionDep, actor: CurrentActor):
    return alerting.get_alert(session, alert_id=alert_id, actor=actor)


@router.get("/alerts/{alert_id}/history", response_model=list[AlertEventRead], summary="An alert's history of state changes")
def alert_history(alert_id: int, session: SessionDep, actor: CurrentActor):
    return alerting.history(session, alert_id=alert_id, actor=actor)


@router.get("/alerts/{alert_id}/notifications", response_model=list[OutboxRead],
            summary="Every notification about an alert, with each delivery attempt")
def alert_notifications(alert_id: int, session: SessionDep, actor: CurrentActor):
    return alerting.notifications_for_alert(session, alert_id=alert_id, actor=actor)


@router.post("/alerts/{alert_id}/ack", response_model=list[AlertRead], summary="Acknowledge an alert")
def ack_alert(alert_id: int, body: ActionRequest, session: SessionDep, actor: CurrentActor):
    return alerting.acknowledge(session, alert_ids=[alert_id], actor=actor, note=body.note)


@router.post("/alerts/{alert_id}/resolve", response_model=list[AlertRead], summary="Resolve an alert by hand")
def resolve_alert(alert_id: int, body: ActionRequest, session: SessionDep, actor: CurrentActor):
    return alerting.resolve(session, alert_ids=[alert_id], actor=actor, note=body.note)


@router.post("/alerts/{alert_id}/mark", response_model=list[AlertRead], summary="Mark an alert actionable or noise")
def mark_alert(alert_id: int, body: MarkRequest, session: SessionDep, actor: CurrentActor):
    return alerting.mark(session, alert_ids=[alert_id], quality=body.quality, actor=actor, note=body.note)


@router.get("/alert-groups", response_model=list[GroupRead], summary="Alert groups waiting to notify or repeat")
def list_groups(session: SessionDep, actor: CurrentActor, all: bool = False):
    return alerting.list_groups(session, actor=actor, active_only=not all)


@router.get("/alert-routing", summary="The route tree, inhibit rules and delivery policy in force")
def get_routing(session: SessionDep, actor: CurrentActor):
    return alerting.current_routing(session, actor=actor) or {"route": {}, "inhibit_rules": [], "dependency_inhibition": True}


@router.get("/alert-routing/explain", response_model=RouteExplain, summary="Where an alert with these labels would go, and why")
def explain_route(session: SessionDep, actor: CurrentActor,
                  labels: Annotated[str, Query(description="k=v pairs separated by commas, e.g. service=checkout,severity=critical")]):
    try:
        parsed = parse_label_list(labels)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="labels") from None
    return alerting.explain_route(session, labels=parsed, actor=actor)


@router.get("/receivers", response_model=list[ReceiverRead], summary="Receivers and their channels (secrets by variable name only)")
def list_receivers(session: SessionDep, actor: CurrentActor):
    return alerting.list_receivers(session, actor=actor)


@router.get("/silences", response_model=list[SilenceRead], summary="List silences (active and pending; expired with all=true)")
def list_silences(session: SessionDep, actor: CurrentActor, all: bool = False):
    return alerting.list_silences(session, actor=actor, include_expired=all)


@router.post("/silences", response_model=SilenceRead, status_code=status.HTTP_201_CREATED, summary="Create a silence")
def create_silence(body: SilenceCreate, session: SessionDep, actor: CurrentActor):
    return alerting.create_silence(session, data=body, actor=actor)


@router.get("/silences/{silence_id}", response_model=SilenceRead, summary="Get a silence")
def get_silence(silence_id: int, session: SessionDep, actor: CurrentActor):
    return alerting.get_silence(session, silence_id=silence_id, actor=actor)


@router.post("/silences/{silence_id}/expire", response_model=SilenceRead, summary="End a silence now")
def expire_silence(silence_id: int, session: SessionDep, actor: CurrentActor):
    return alerting.expire_silence(session, silence_id=silence_id, actor=actor)


@router.post("/drills", response_model=DrillRead, status_code=status.HTTP_201_CREATED,
             summary="Start a fire drill: a test alert through the service's real route")
def start_drill(body: DrillCreate, session: SessionDep, actor: CurrentActor):
    return alerting.start_drill(session, service=body.service, deadline=body.deadline, actor=actor)


@router.get("/drills", response_model=list[DrillRead], summary="Fire drills, newest first")
def list_drills(session: SessionDep, actor: CurrentActor, service: str | None = None):
    return alerting.list_drills(session, actor=actor, service=service)


@router.get("/alert-quality", response_model=list[QualityRow], summary="Per alert name: fired, acted on, noise (noisiest first)")
def alert_quality(session: SessionDep, actor: CurrentActor, service: str | None = None, days: int = Query(30, ge=1, le=365)):
    import datetime as dt

    from watchkeeper import clock

    return alerting.quality_report(session, actor=actor, since=clock.utcnow() - dt.timedelta(days=days), service=service)


@router.get("/notifications", response_model=list[OutboxRead], summary="The notification outbox, newest first")
def list_notifications(session: SessionDep, actor: CurrentActor, filter: Annotated[OutboxFilter, Depends()]):
    return notify.list_outbox(session, filter=filter, actor=actor)


@router.get("/notifications/{outbox_id}", response_model=OutboxRead, summary="One notification with every delivery attempt")
def get_notification(outbox_id: int, session: SessionDep, actor: CurrentActor):
    return notify.get_outbox(session, outbox_id=outbox_id, actor=actor)


@router.post("/notifications/{outbox_id}/retry", response_model=OutboxRead, summary="Retry a dead or unconfirmed notification")
def retry_notification(outbox_id: int, session: SessionDep, actor: CurrentActor):
    return alerting.retry_notification(session, outbox_id=outbox_id, actor=actor)
