"""`watchkeeper oncall who|schedule|override|policy|coverage`. Thin: the services check and audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import typer

from watchkeeper import durations
from watchkeeper.cli.common import emit, local_actor, session_scope, validated
from watchkeeper.errors import InvalidInput
from watchkeeper.oncall import coverage as analysis
from watchkeeper.oncall import escalation
from watchkeeper.oncall import policies
from watchkeeper.oncall import service as oncall
from watchkeeper.oncall.schemas import OverrideCreate

oncall_app = typer.Typer(help="On-call: schedules, overrides, escalation policies, escalations, response SLAs, coverage gaps.", no_args_is_help=True)
schedule_app = typer.Typer(help="On-call schedules and their final timeline.", no_args_is_help=True)
override_app = typer.Typer(help="Overrides: someone covers a schedule from–to.", no_args_is_help=True)
policy_app = typer.Typer(help="Escalation policies.", no_args_is_help=True)
oncall_app.add_typer(schedule_app, name="schedule")
oncall_app.add_typer(override_app, name="override")
oncall_app.add_typer(policy_app, name="policy")
escalation_app = typer.Typer(help="Escalations: who was paged, escalate now, reassign.", no_args_is_help=True)
oncall_app.add_typer(escalation_app, name="escalation")

TIME_HELP = "ISO time; without an offset it is read as UTC."


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@oncall_app.command("who")
def who(
    ctx: typer.Context,
    at: Annotated[Optional[dt.datetime], typer.Option(help=f"When; default now. {TIME_HELP}")] = None,
    schedule: Annotated[Optional[str], typer.Option(help="Only this schedule.")] = None,
    service: Annotated[Optional[str], typer.Option(help="EscalationLevel 1 of this service's escalation policy.")] = None,
) -> None:
    """Who is on call now (or --at), per schedule or for a service's level 1."""
    if schedule and service:
        raise InvalidInput("give --schedule or --service, not both", field="service")
    with session_scope(ctx) as session:
        if service:
            rows = policies.on_call_for_service(session, service=service, actor=local_actor(), at=_utc(at))
        else:
            rows = oncall.on_call(session, actor=local_actor(), at=_utc(at), schedule=schedule)
    emit(ctx, [r.model_dump() for r in rows], columns=["schedule", "person", "source", "until"])


@schedule_app.command("list")
def schedule_list(ctx: typer.Context, team: Annotated[Optional[str], typer.Option(help="Only this team.")] = None) -> None:
    """List schedules."""
    with session_scope(ctx) as session:
        rows = oncall.list_schedules(session, actor=local_actor(), team=team)
    emit(ctx, [dict(r.model_dump(), layers=[x.name for x in r.layers]) for r in rows],
         columns=["name", "team", "timezone", "layers", "managed_by"])


@schedule_app.command("show")
def schedule_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Schedule name.")],
    start: Annotated[Optional[dt.datetime], typer.Option("--from", help=f"Window start; default now. {TIME_HELP}")] = None,
    end: Annotated[Optional[dt.datetime], typer.Option("--to", help=f"Window end; default a week after --from. {TIME_HELP}")] = None,
) -> None:
    """The final timeline of a schedule (layers and overrides applied) in [--from, --to)."""
    from watchkeeper import clock

    begin = _utc(start) or clock.utcnow()
    finish = _utc(end) or begin + dt.timedelta(days=7)
    with session_scope(ctx) as session:
        tl = oncall.schedule_timeline(session, name=name, start=begin, end=finish, actor=local_actor())
    emit(ctx, [s.model_dump() for s in tl.segments], columns=["start", "end", "person", "source"])


@override_app.command("add")
def override_add(
    ctx: typer.Context,
    schedule: Annotated[str, typer.Argument(help="Schedule name.")],
    person: Annotated[str, typer.Argument(help="Handle of the person who covers.")],
    start: Annotated[dt.datetime, typer.Option("--from", help=f"Start. {TIME_HELP}")],
    end: Annotated[dt.datetime, typer.Option("--to", help=f"End. {TIME_HELP}")],
    reason: Annotated[Optional[str], typer.Option(help="Why (shown in the timeline).")] = None,
) -> None:
    """PERSON covers SCHEDULE from --from to --to, above every layer."""
    data = validated(OverrideCreate, dict(schedule=schedule, person=person, start=_utc(start), end=_utc(end), reason=reason))
    with session_scope(ctx) as session:
        row = oncall.add_override(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@override_app.command("list")
def override_list(ctx: typer.Context, schedule: Annotated[str, typer.Argument(help="Schedule name.")],
                  past: Annotated[bool, typer.Option("--past", help="Include past overrides.")] = False) -> None:
    """List a schedule's current and future overrides."""
    with session_scope(ctx) as session:
        rows = oncall.list_overrides(session, schedule=schedule, actor=local_actor(), include_past=past)
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "person", "start", "end", "reason", "created_by"])


@override_app.command("remove")
def override_remove(ctx: typer.Context, schedule: Annotated[str, typer.Argument(help="Schedule name.")],
                    override_id: Annotated[int, typer.Argument(help="Override id (see `oncall override list`).")]) -> None:
    """Remove an override."""
    with session_scope(ctx) as session:
        oncall.remove_override(session, schedule=schedule, override_id=override_id, actor=local_actor())
    emit(ctx, {"removed": override_id})


@policy_app.command("show")
def policy_show(ctx: typer.Context, name: Annotated[Optional[str], typer.Argument(help="Policy name; all when omitted.")] = None) -> None:
    """Show escalation policies: levels, targets, timeouts, repeat, services."""
    with session_scope(ctx) as session:
        rows = [policies.get_policy(session, name=name, actor=local_actor())] if name else policies.list_policies(session, actor=local_actor())
    out = []
    for p in rows:
        for i, level in enumerate(p.levels, 1):
            out.append({"policy": p.name, "level": i, "targets": [f"{t.kind}:{t.name}" for t in level.targets],
                        "timeout": durations.format(level.timeout), "repeat": p.repeat, "services": p.services})
    emit(ctx, out, columns=["policy", "level", "targets", "timeout", "repeat", "services"])


@oncall_app.command("coverage")
def coverage(
    ctx: typer.Context,
    service: Annotated[Optional[str], typer.Argument(help="Service; all when omitted.")] = None,
    days: Annotated[int, typer.Option(help="How many days ahead (1-92).")] = analysis.DEFAULT_DAYS,
) -> None:
    """Compare support hours with level-1 coverage: gaps, bus factor, people without a contact method."""
    with session_scope(ctx) as session:
        rows = analysis.coverage(session, actor=local_actor(), service=service, days=days)
    emit(ctx, [dict(r.model_dump(), gaps=len(r.gaps), first_gap=r.gaps[0].start if r.gaps else None) for r in rows],
         columns=["service", "policy", "status", "gaps", "first_gap", "bus_factor", "contactless", "reason"])


ESC_COLUMNS = ["id", "service", "policy", "status", "level", "next_level", "next_step_at", "acked_by", "summary"]


@escalation_app.command("list")
def escalation_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="open, active, acknowledged, exhausted or resolved.")] = "open",
    service: Annotated[Optional[str], typer.Option(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-500).")] = 100,
) -> None:
    """List escalations, newest first (default: the open ones)."""
    with session_scope(ctx) as session:
        rows = escalation.list_escalations(session, actor=local_actor(), status=status, service=service, limit=limit)
    emit(ctx, [r.model_dump(exclude={"events"}) for r in rows], columns=ESC_COLUMNS)


@escalation_app.command("show")
def escalation_show(ctx: typer.Context, escalation_id: Annotated[int, typer.Argument(help="Escalation id.")]) -> None:
    """One escalation's history: started, who was paged at which level, acknowledged, resolved."""
    with session_scope(ctx) as session:
        row = escalation.get_escalation(session, escalation_id=escalation_id, actor=local_actor())
    emit(ctx, [e.model_dump() for e in row.events], columns=["at", "kind", "level", "loop", "people", "actor"])


@escalation_app.command("escalate")
def escalation_escalate(ctx: typer.Context, escalation_id: Annotated[int, typer.Argument(help="Escalation id.")]) -> None:
    """Page the next level now instead of at its timeout."""
    with session_scope(ctx) as session:
        row = escalation.escalate(session, escalation_id=escalation_id, actor=local_actor())
    emit(ctx, row.model_dump(exclude={"events"}))


@escalation_app.command("reassign")
def escalation_reassign(ctx: typer.Context, escalation_id: Annotated[int, typer.Argument(help="Escalation id.")],
                        person: Annotated[str, typer.Argument(help="Handle of the person to page now.")]) -> None:
    """Page PERSON now; if they do not acknowledge, the policy carries on where it was."""
    with session_scope(ctx) as session:
        row = escalation.reassign(session, escalation_id=escalation_id, person=person, actor=local_actor())
    emit(ctx, row.model_dump(exclude={"events"}))


@oncall_app.command("response")
def response(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="service, team or person (who acknowledged).")] = "service",
    days: Annotated[int, typer.Option(help="Escalations started in the last N days (1-366).")] = 30,
) -> None:
    """Response SLAs: MTTA, MTTR and missed response targets per service, team or person."""
    with session_scope(ctx) as session:
        rows = escalation.response_report(session, actor=local_actor(), by=by, days=days)
    emit(ctx, [r.model_dump() for r in rows],
         columns=["key", "escalations", "acknowledged", "resolved", "mtta_s", "mttr_s", "ack_breaches", "resolve_breaches"])
