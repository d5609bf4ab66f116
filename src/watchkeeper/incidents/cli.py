"""`watchkeeper incident declare|list|show|ack|status|assign|note|update|resolve|merge|export|...`.
Thin: the services check and audit. The CLI on the server acts as the local system user."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper.cli.common import emit, local_actor, session_scope, validated
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    ActionItemCreate,
    ActionItemUpdate,
    IncidentCreate,
    IncidentFilter,
    IncidentUpdate,
    NoteCreate,
    PostmortemUpdate,
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
    lines = [f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor or 'system'}: {e.summary}" + (" (public)" if e.visibility == "public" else "")
             for e in out.timeline]
    if getattr(ctx.find_root().obj, "json", False):
        emit(ctx, {**_row(out), "timeline": [e.model_dump() for e in out.timeline]})
        return
    emit(ctx, {k: v for k, v in _row(out).items() if k not in ("merged",)})
    typer.echo("\ntimeline:")
    for line in lines:
        typer.echo(f"  {line}")


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


@incident_app.command("drill")
def drill(
    ctx: typer.Context, service: Annotated[str, typer.Argument(help="The service to exercise.")],
    severity: Annotated[str, typer.Option(help="The drill's severity (SEV1 to SEV4).")] = "SEV2",
) -> None:
    """Start a game day: a drill incident that pages, to be acked, resolved and written up."""
    with session_scope(ctx) as session:
        out = incidents.start_drill(session, service=service, severity=severity.upper(), actor=local_actor())
    emit(ctx, _row(out))


postmortem_app = typer.Typer(help="Postmortems: start, edit, publish, action items.", no_args_is_help=True)
incident_app.add_typer(postmortem_app, name="postmortem")


@postmortem_app.command("start")
def postmortem_start(ctx: typer.Context, incident_id: ID) -> None:
    """Start the postmortem of an incident from the blameless template."""
    from watchkeeper.incidents import postmortems

    with session_scope(ctx) as session:
        out = postmortems.start_postmortem(session, incident_id=incident_id, actor=local_actor())
    emit(ctx, out.model_dump(exclude={"timeline_markdown"}))


@postmortem_app.command("show")
def postmortem_show(ctx: typer.Context, incident_id: ID) -> None:
    """The postmortem as Markdown: sections, the embedded timeline, the action items."""
    from watchkeeper.incidents import postmortems

    with session_scope(ctx) as session:
        pm = postmortems.get_postmortem(session, incident_id=incident_id, actor=local_actor())
    if ctx.find_root().obj and getattr(ctx.find_root().obj, "json", False):
        emit(ctx, pm.model_dump())
        return
    parts = [f"# Postmortem: incident #{incident_id} ({pm.status}{', OVERDUE' if pm.overdue else ''})"]
    for title, field in (("Summary", "summary"), ("Impact", "impact"), ("Root cause", "root_cause"),
                         ("Contributing factors", "contributing_factors"), ("What went well", "went_well")):
        parts += ["", f"## {title}", "", getattr(pm, field) or "_(to write)_"]
    parts += ["", "## Action items", ""] + [f"- [{i.status}] {i.title} — {i.owner or 'unowned'}"
                                           + (f" (fixed by {i.change_ref})" if i.change_ref else "") for i in pm.action_items]
    parts += ["", "## Incident and timeline", "", pm.timeline_markdown.replace("\n# ", "\n### ")]
    typer.echo("\n".join(parts))


@postmortem_app.command("edit")
def postmortem_edit(
    ctx: typer.Context, incident_id: ID,
    summary: Annotated[str | None, typer.Option(help="Summary (Markdown).")] = None,
    impact: Annotated[str | None, typer.Option(help="Impact (Markdown).")] = None,
    root_cause: Annotated[str | None, typer.Option(help="Root cause (Markdown).")] = None,
    contributing_factors: Annotated[str | None, typer.Option(help="Contributing factors (Markdown).")] = None,
    went_well: Annotated[str | None, typer.Option(help="What went well (Markdown).")] = None,
) -> None:
    """Edit the postmortem's sections."""
    from watchkeeper.incidents import postmortems

    data = validated(PostmortemUpdate, {"summary": summary, "impact": impact, "root_cause": root_cause,
                                        "contributing_factors": contributing_factors, "went_well": went_well})
    with session_scope(ctx) as session:
        out = postmortems.update_postmortem(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, out.model_dump(exclude={"timeline_markdown", "action_items"}))


@postmortem_app.command("publish")
def postmortem_publish(ctx: typer.Context, incident_id: ID) -> None:
    """Publish the postmortem (the incident must be resolved and the root cause written)."""
    from watchkeeper.incidents import postmortems

    with session_scope(ctx) as session:
        out = postmortems.publish_postmortem(session, incident_id=incident_id, actor=local_actor())
    emit(ctx, out.model_dump(exclude={"timeline_markdown", "action_items"}))


@postmortem_app.command("action")
def postmortem_action(
    ctx: typer.Context, incident_id: ID, title: Annotated[str, typer.Argument(help="What must be done.")],
    owner: Annotated[str | None, typer.Option(help="Who does it (handle or username).")] = None,
    tracker_url: Annotated[str | None, typer.Option(help="The ticket, an http(s) URL.")] = None,
) -> None:
    """Add an action item."""
    from watchkeeper.incidents import postmortems

    data = validated(ActionItemCreate, {"title": title, "owner": owner, "tracker_url": tracker_url})
    with session_scope(ctx) as session:
        out = postmortems.add_action_item(session, incident_id=incident_id, data=data, actor=local_actor())
    emit(ctx, out.model_dump())


@postmortem_app.command("done")
def postmortem_done(
    ctx: typer.Context, item_id: Annotated[int, typer.Argument(help="Action item number.")],
    change: Annotated[str, typer.Option(help="The deploy or change record that fixed it, e.g. deploy:42.")],
) -> None:
    """Mark an action item done, linked to the change that fixed it (verified later if the failure does not recur)."""
    from watchkeeper.incidents import postmortems

    data = validated(ActionItemUpdate, {"status": "done", "change_ref": change})
    with session_scope(ctx) as session:
        out = postmortems.update_action_item(session, item_id=item_id, data=data, actor=local_actor())
    emit(ctx, out.model_dump())


@incident_app.command("review")
def review(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option(help="Any day of the week to review (YYYY-MM-DD); default this week.")] = None,
    timezone: Annotated[str, typer.Option(help="The zone whose Monday starts the week, e.g. Europe/Berlin.")] = "UTC",
) -> None:
    """The weekly incident review: MTTA/MTTR, SLA breaches, postmortems and action items (Markdown)."""
    import datetime as dt

    from watchkeeper import clock
    from watchkeeper.errors import InvalidInput
    from watchkeeper.incidents import metrics

    try:
        when = dt.date.fromisoformat(day) if day else clock.utcnow().date()
    except ValueError:
        raise InvalidInput(f"--day: {day!r} is not a date like 2026-03-02", field="day") from None
    with session_scope(ctx) as session:
        out = metrics.weekly_review(session, day=when, timezone=timezone, actor=local_actor())
    if getattr(ctx.find_root().obj, "json", False):
        emit(ctx, out.model_dump())
    else:
        typer.echo(metrics.review_markdown(out), nl=False)
