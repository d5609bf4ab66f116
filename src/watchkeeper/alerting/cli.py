"""`watchkeeper alert|silence` — thin wrappers over the alerting service."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from watchkeeper import clock, durations
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.schemas import AlertFilter, AlertState, AlertStatus, Quality, SilenceCreate
from watchkeeper.alerting.sources import SOURCES
from watchkeeper.cli.common import emit, local_actor, session_scope, validated
from watchkeeper.errors import InvalidInput
from watchkeeper.labels import parse_label_list
from watchkeeper.notify import service as notify
from watchkeeper.notify.schemas import OutboxFilter, OutboxStatus

alert_app = typer.Typer(help="Alerts: list, show, acknowledge, resolve, rate, explain routing, fire drills, quality.",
                        no_args_is_help=True)
silence_app = typer.Typer(help="Silences: label matchers that keep alerts quiet for a while.", no_args_is_help=True)

ALERT_COLUMNS = ["id", "alertname", "status", "state", "service", "severity", "starts_at", "acked_by"]


def _duration(text: str, field: str) -> dt.timedelta:
    try:
        return durations.parse(text)
    except ValueError as exc:
        raise InvalidInput(f"--{field}: {exc}", field=field) from None


@alert_app.command("list")
def list_alerts(
    ctx: typer.Context,
    status: Annotated[Optional[AlertStatus], typer.Option(help="firing or resolved.")] = None,
    state: Annotated[Optional[AlertState], typer.Option(help="active, silenced, inhibited or maintenance (firing alerts).")] = None,
    service: Annotated[Optional[str], typer.Option(help="Only this service's alerts.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest activity first.")] = 50,
) -> None:
    """List alerts with status, suppression state, service and who acknowledged them."""
    with session_scope(ctx) as session:
        rows = alerting.list_alerts(session, filter=AlertFilter(status=status, state=state, service=service, limit=limit), actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=ALERT_COLUMNS)


@alert_app.command("show")
def show(ctx: typer.Context, alert_id: Annotated[int, typer.Argument(help="Alert id (from `alert list`).")]) -> None:
    """Show one alert with its history and every notification attempt."""
    with session_scope(ctx) as session:
        alert = alerting.get_alert(session, alert_id=alert_id, actor=local_actor())
        history = alerting.history(session, alert_id=alert_id, actor=local_actor())
        sent = alerting.notifications_for_alert(session, alert_id=alert_id, actor=local_actor())
    data = alert.model_dump()
    data["history"] = [f"{e.at:%Y-%m-%d %H:%M:%S} {e.kind}" + (f" by {e.actor}" if e.actor else "") for e in history]
    data["notifications"] = [f"#{n.id} {n.channel_kind}→{n.receiver} {n.status.value} after {n.attempts} attempt(s)" for n in sent]
    emit(ctx, data)


def _ids(ids: list[int]) -> list[int]:
    if not ids:
        raise InvalidInput("name at least one alert id", field="alert_ids")
    return ids


@alert_app.command("ack")
def ack(ctx: typer.Context, alert_ids: Annotated[list[int], typer.Argument(help="Alert ids.")],
        note: Annotated[Optional[str], typer.Option(help="Why / what you are doing.")] = None) -> None:
    """Acknowledge alerts (passes a fire drill when it is the drill's alert)."""
    with session_scope(ctx) as session:
        rows = alerting.acknowledge(session, alert_ids=_ids(alert_ids), actor=local_actor(), note=note)
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "alertname", "status", "acked_by", "acked_at"])


@alert_app.command("resolve")
def resolve(ctx: typer.Context, alert_ids: Annotated[list[int], typer.Argument(help="Alert ids.")],
            note: Annotated[Optional[str], typer.Option(help="Why.")] = None) -> None:
    """Resolve alerts by hand (the resolution is notified)."""
    with session_scope(ctx) as session:
        rows = alerting.resolve(session, alert_ids=_ids(alert_ids), actor=local_actor(), note=note)
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "alertname", "status", "ends_at"])


@alert_app.command("mark")
def mark(ctx: typer.Context, alert_ids: Annotated[list[int], typer.Argument(help="Alert ids.")],
         quality: Annotated[Quality, typer.Option("--as", help="actionable or noise.")],
         note: Annotated[Optional[str], typer.Option(help="Why.")] = None) -> None:
    """Rate alerts as actionable or noise (feeds `alert quality`)."""
    with session_scope(ctx) as session:
        rows = alerting.mark(session, alert_ids=_ids(alert_ids), quality=quality, actor=local_actor(), note=note)
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "alertname", "quality"])


@alert_app.command("route")
def route(ctx: typer.Context, labels: Annotated[str, typer.Option("--labels", help="k=v pairs, e.g. service=checkout,severity=critical.")]) -> None:
    """Show where an alert with these labels would go, and why (routes, receivers, grouping, suppression)."""
    try:
        parsed = parse_label_list(labels)
    except ValueError as exc:
        raise InvalidInput(f"--labels: {exc}", field="labels") from None
    with session_scope(ctx) as session:
        result = alerting.explain_route(session, labels=parsed, actor=local_actor())
    from watchkeeper.cli.common import state

    if state(ctx).json:
        emit(ctx, result.model_dump())
        return
    typer.echo(f"alert {result.labels} (fingerprint {result.fingerprint})")
    for r in result.routes:
        typer.echo(f"→ receiver {r['receiver'] or '(none configured)'} via route {r['route']} "
                   f"[{', '.join(r['channels']) or 'no channels'}]; group {r['group_labels']}, wait {r['group_wait']:g}s, "
                   f"interval {r['group_interval']:g}s, repeat {r['repeat_interval']:g}s")
        for line in r["why"]:
            typer.echo(f"    because {line}")
    typer.echo(f"suppressed now: {result.suppressed}" if result.suppressed else "not suppressed now")


@alert_app.command("drill")
def drill(ctx: typer.Context, service: Annotated[str, typer.Argument(help="Service to drill.")],
          deadline: Annotated[str, typer.Option(help="Time a person has to acknowledge, e.g. 15m.")] = "15m") -> None:
    """Send a test alert through SERVICE's real route; it passes when someone acknowledges it in time."""
    with session_scope(ctx) as session:
        result = alerting.start_drill(session, service=service, deadline=_duration(deadline, "deadline"), actor=local_actor())
    emit(ctx, result.model_dump())


@alert_app.command("drills")
def drills(ctx: typer.Context, service: Annotated[Optional[str], typer.Option(help="Only this service.")] = None) -> None:
    """List fire drills and their outcome."""
    with session_scope(ctx) as session:
        rows = alerting.list_drills(session, actor=local_actor(), service=service)
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "service", "status", "started_at", "deadline_at", "acked_by", "receivers"])


@alert_app.command("quality")
def quality(ctx: typer.Context, days: Annotated[int, typer.Option(help="Look back this many days.")] = 30,
            service: Annotated[Optional[str], typer.Option(help="Only this service.")] = None) -> None:
    """Per alert name: fired, acted on, noise — noisiest first."""
    with session_scope(ctx) as session:
        rows = alerting.quality_report(session, actor=local_actor(), since=clock.utcnow() - dt.timedelta(days=days), service=service)
    emit(ctx, [r.model_dump() for r in rows], columns=["alertname", "fired", "acted_on", "noise", "unrated", "action_rate"])


@alert_app.command("notifications")
def notifications(ctx: typer.Context, status: Annotated[Optional[OutboxStatus], typer.Option(help="pending, sending, sent, dead or unconfirmed.")] = None,
                  limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50) -> None:
    """List the notification outbox."""
    with session_scope(ctx) as session:
        rows = notify.list_outbox(session, filter=OutboxFilter(status=status, limit=limit), actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "receiver", "channel_kind", "status", "possible_duplicate", "attempts", "subject", "last_error"])


@alert_app.command("retry-notification")
def retry_notification(ctx: typer.Context, outbox_id: Annotated[int, typer.Argument(help="Notification id.")]) -> None:
    """Send a dead or unconfirmed notification once more."""
    with session_scope(ctx) as session:
        row = alerting.retry_notification(session, outbox_id=outbox_id, actor=local_actor())
    emit(ctx, row.model_dump(), columns=None)


@alert_app.command("simulate")
def simulate(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="A JSON payload, e.g. one of alerting/sources/*/samples/.")],
             source: Annotated[str, typer.Option(help="Payload format: api, alertmanager or grafana.")] = "alertmanager",
             ingest: Annotated[bool, typer.Option("--ingest", help="Really ingest the alerts (they notify like any "
                                                  "other); without it nothing is stored or sent.")] = False) -> None:
    """Show where a payload's alerts would go — routes, receivers, suppression — without storing
    or sending anything; --ingest posts them for real (try the samples shipped with Watchkeeper)."""
    if source not in SOURCES:
        raise InvalidInput(f"--source {source!r} is unknown; use one of {', '.join(SOURCES)}", field="source")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{file}: cannot read JSON ({exc})", field="file") from None
    alerts = SOURCES[source](data)
    with session_scope(ctx) as session:
        if ingest:
            result = alerting.ingest(session, alerts=alerts, source=source, actor=local_actor())
            emit(ctx, result.model_dump())
            return
        dry = alerting.simulate(session, alerts=alerts, actor=local_actor())
        session.rollback()
    emit(ctx, [{"alertname": r.labels.get("alertname"), "service": r.service, "fingerprint": r.fingerprint,
                "receivers": ", ".join(dict.fromkeys(x["receiver"] for x in r.routes if x["receiver"])) or "(none)",
                "suppressed": r.suppressed or ""} for r in dry],
         columns=["alertname", "service", "receivers", "suppressed", "fingerprint"])


@silence_app.command("add")
def silence_add(
    ctx: typer.Context,
    matcher: Annotated[list[str], typer.Option("--matcher", "-m", help='Label matcher, repeatable: -m service=checkout -m severity=~"warn|info".')],
    comment: Annotated[str, typer.Option(help="Why; shown with every silenced alert.")],
    duration: Annotated[Optional[str], typer.Option(help="How long, e.g. 2h (default 1h).")] = None,
    starts_at: Annotated[Optional[dt.datetime], typer.Option("--start", help="Start (ISO, UTC); default now.")] = None,
) -> None:
    """Silence alerts that match every matcher."""
    start = starts_at.replace(tzinfo=dt.timezone.utc) if starts_at and starts_at.tzinfo is None else starts_at
    with session_scope(ctx) as session:
        data = validated(SilenceCreate, {"matchers": matcher, "comment": comment, "starts_at": start,
                                         "duration": _duration(duration or "1h", "duration")})
        row = alerting.create_silence(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@silence_app.command("list")
def silence_list(ctx: typer.Context, all: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False) -> None:
    """List active and pending silences (expired ones with --all)."""
    with session_scope(ctx) as session:
        rows = alerting.list_silences(session, actor=local_actor(), include_expired=all)
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "matchers", "state", "starts_at", "ends_at", "created_by", "comment", "matching_firing"])


@silence_app.command("expire")
def silence_expire(ctx: typer.Context, silence_id: Annotated[int, typer.Argument(help="Silence id.")]) -> None:
    """End a silence now (it is kept for history)."""
    with session_scope(ctx) as session:
        row = alerting.expire_silence(session, silence_id=silence_id, actor=local_actor())
    emit(ctx, row.model_dump())
