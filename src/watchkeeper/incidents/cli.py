"""`watchkeeper incident declare|list|show|ack|status|assign|note|update|resolve|merge|export|...`.
Thin: the services check and audit. The CLI on the server acts as the local system user."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper.cli.common import emit, local_actor, session_scope, validated
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    IncidentCreate,
    IncidentFilter,
    IncidentUpdate,
    NoteCreate,
    RoleAssign,
    StatusChange,
    StatusUpdate,
    Visibility,
)

incident_app = typer.Typer(help="Incidents: declare, follow, update, resolve, review.", no_args_is_help=True)

ID = Annotated[int, typer.Argument(help="Incident number, e.g. 12.")]
COLUMNS = ["id", "severity", "status", "title", "services", "commander", "detected_at"]


def _row(i) -> dict:
    return {**i.model_dump(exclude={"alerts", "timeline", "allowed_next"}), "services": ", ".join(i.services)}


@incident_app.command("declare")
def declare(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What is wrong, in a line.")],
    service: Annotated[list[str], typer.Option("--service", "-s", help="Affected service (repeat for several).")],
    severity: Annotated[str, typer.Option(help="SEV1 (worst) to SEV4.")] = "SEV3",
    impact: Annotated[str | None, typer.Option(help="Impact summary (Markdown).")] = None,
    customer_facing: Annotated[bool, typer.Option("--customer-facing", help="Customers notice it.")] = False,
    commander: Annotated[str | None, typer.Option(help="Incident commander (person handle or username).")] = None,
) -> None:
    """Declare an incident by hand; it starts investigating and pages when its severity says so."""
    data = validated(IncidentCreate, {"title": title, "services": service, "severity": severity.upper(), "impact": impact,
                                      "customer_facing": customer_facing, "commander": commander})
    with session_scope(ctx) as session:
        out = incidents.declare(session, data=data, actor=local_actor())
    emit(ctx, _row(out))


@incident_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, closed or all.")] = "open",
    service: Annotated[str | None, typer.Option(help="Only incidents on this service.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's incidents.")] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
) -> None:
    """List incidents, newest first."""
    flt = validated(IncidentFilter, {"status": status, "service": service, "team": team, "severity": severity})
    with session_scope(ctx) as session:
        rows = incidents.list_incidents(session, filter=flt, actor=local_actor())
    emit(ctx, [_row(r) for r in rows], columns=COLUMNS)


@incident_app.command("show")
def show(ctx: typer.Context, incident_id: ID) -> None:
    """One incident and its timeline."""
    with session_scope(ctx) as session:
        out = incidents.get_incident(session, incident_id=incident_id, actor=local_actor())
    emit(ctx, {**_row(out), "timeline": [f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor or 'system'}: {e.summary}"
                                         + (" (public)" if e.visibility == "public" else "") for e in out.timeline]})


@incident_app.command("export")
def export(ctx: typer.Context, incident_id: ID) -> None:
    """The incident and its timeline as Markdown (for a postmortem or a ticket)."""
    with session_scope(ctx) as session:
        typer.echo(incidents.export_markdown(session, incident_id=incident_id, actor=local_actor()), nl=False)


@incident_app.command("ack")
def ack(ctx: typer.Context, incident_id: ID) -> None:
    """Acknowledge a triggered incident."""
    with session_scope(ctx) as session:
        out = incidents.acknowledge(session, incident_id=incident_id, actor=local_actor())
    emit(ctx, _row(out))


@incident_app.command("status")
def status(
    ctx: typer.Context, incident_id: ID,
    to: Annotated[str, typer.Argument(help="acknowledged, investigating, identified, monitoring, resolved or cancelled.")],
    message: Annotated[str | None, typer.Option("--message", "-m", help="Why (Markdown), shown on the timeline.")] = None,
    public: Annotated[bool, typer.Option("--public", help="Show the message on the public status page.")] = False,
) -> None:
    """Move an incident along its lifecycle; invalid moves are refused with the allowed ones."""
    data = validated(StatusChange, {"status": to.lower(), "message": message, "visibility": "public" if public else "internal"})
    with session_scope(ctx) as session:
        out = incidents.change_status(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, _row(out))


@incident_app.command("assign")
def assign(
    ctx: typer.Context, incident_id: ID,
    role: Annotated[str, typer.Argument(help="commander, communications or scribe.")],
    person: Annotated[str | None, typer.Argument(help="Person handle or username; omit to clear the role.")] = None,
) -> None:
    """Assign, hand over or clear a role."""
    data = validated(RoleAssign, {"role": role.lower(), "person": person})
    with session_scope(ctx) as session:
        out = incidents.assign_role(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, _row(out))


@incident_app.command("note")
def note(ctx: typer.Context, incident_id: ID, text: Annotated[str, typer.Argument(help="The note (Markdown).")]) -> None:
    """Add an internal note to the timeline."""
    data = validated(NoteCreate, {"text": text})
    with session_scope(ctx) as session:
        entry = incidents.add_note(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, entry.model_dump())


@incident_app.command("update")
def update(
    ctx: typer.Context, incident_id: ID, message: Annotated[str, typer.Argument(help="The update (Markdown).")],
    public: Annotated[bool, typer.Option("--public", help="Publish it on the status page.")] = False,
    to: Annotated[str | None, typer.Option("--status", help="Also move to this status.")] = None,
) -> None:
    """Post a status update to stakeholders (internal, or --public on /status)."""
    data = validated(StatusUpdate, {"message": message, "visibility": "public" if public else "internal",
                                    "status": to.lower() if to else None})
    with session_scope(ctx) as session:
        entry = incidents.post_update(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, entry.model_dump())


@incident_app.command("severity")
def severity(ctx: typer.Context, incident_id: ID, to: Annotated[str, typer.Argument(help="SEV1 to SEV4.")]) -> None:
    """Change the severity (raising it to a paging severity pages)."""
    data = validated(IncidentUpdate, {"severity": to.upper()})
    with session_scope(ctx) as session:
        out = incidents.update_incident(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, _row(out))


@incident_app.command("resolve")
def resolve(
    ctx: typer.Context, incident_id: ID,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Resolution note (Markdown).")] = None,
    public: Annotated[bool, typer.Option("--public", help="Show the message on the public status page.")] = False,
) -> None:
    """Resolve an incident."""
    with session_scope(ctx) as session:
        out = incidents.resolve(session, incident_id=incident_id, actor=local_actor(), message=message,
                                visibility=Visibility.PUBLIC if public else Visibility.INTERNAL)
    emit(ctx, _row(out))


@incident_app.command("attach")
def attach(ctx: typer.Context, incident_id: ID, fingerprint: Annotated[str, typer.Argument(help="Alert fingerprint.")]) -> None:
    """Attach an alert to an incident."""
    with session_scope(ctx) as session:
        out = incidents.attach_alert(session, incident_id=incident_id, fingerprint=fingerprint, actor=local_actor())
    emit(ctx, _row(out))


@incident_app.command("merge")
def merge(ctx: typer.Context, incident_id: ID, into: Annotated[int, typer.Argument(help="The incident that stays open.")]) -> None:
    """Merge an incident into another; both timelines are kept."""
    with session_scope(ctx) as session:
        out = incidents.merge(session, incident_id=incident_id, into_id=into, actor=local_actor())
    emit(ctx, _row(out))
