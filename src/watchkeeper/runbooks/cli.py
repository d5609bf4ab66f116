"""`watchkeeper runbook list|show|lint|run|review|init|sync`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Optional

import typer

from watchkeeper.cli.common import emit, local_actor, session_scope, state
from watchkeeper.egress import Egress
from watchkeeper.runbooks import lint as lint_service
from watchkeeper.runbooks import scaffold, steps
from watchkeeper.runbooks import service as runbooks

runbook_app = typer.Typer(help="Runbooks and required documents (docs/runbooks-domain.md).", no_args_is_help=True)
review_app = typer.Typer(help="Ask for and record reviews.", no_args_is_help=True)
runbook_app.add_typer(review_app, name="review")

PathArg = Annotated[str, typer.Argument(help="The document's path inside the runbooks folder, e.g. checkout-runbook.md.")]


@runbook_app.command("list")
def list_documents(ctx: typer.Context, service: Annotated[Optional[str], typer.Option(help="Only this service's documents.")] = None,
                   kind: Annotated[Optional[str], typer.Option(help="runbook, incident-process, deploy-procedure, rollback-procedure, dr-plan, other.")] = None) -> None:
    """List documents with their kind, services and review status."""
    with session_scope(ctx) as session:
        rows = runbooks.list_documents(session, actor=local_actor(), service=service, kind=kind)
    emit(ctx, [{**r.model_dump(mode="json"), "current": r.review.current, "review_due": r.review.review_due,
                "reviewed_by": r.review.reviewed_by} for r in rows],
         columns=["path", "kind", "services", "title", "current", "reviewed_by", "review_due", "last_author"])


@runbook_app.command("show")
def show(ctx: typer.Context, path: PathArg) -> None:
    """Show a document: front matter, review status, steps and its Markdown."""
    with session_scope(ctx) as session:
        doc = runbooks.get_document(session, path=path, actor=local_actor())
    emit(ctx, doc.model_dump(mode="json", exclude={"html"}))


@runbook_app.command("lint")
def lint(ctx: typer.Context, service: Annotated[Optional[str], typer.Option(help="Only this service.")] = None) -> None:
    """Stale reviews, reviewer = author, uncovered alert rules and SLO burn alerts, unknown
    services and alerts, broken links, bus factor. Exit 1 when there is an error."""
    with session_scope(ctx) as session:
        report = lint_service.lint(session, actor=local_actor(), service_name=service)
    emit(ctx, [f.model_dump() for f in report.findings], columns=["severity", "check", "service", "path", "message"])
    emit(ctx, [b.model_dump() for b in report.bus_factor], columns=["service", "count", "people"])
    if report.errors:
        typer.echo(f"error: {report.errors} lint error(s) in {report.documents} document(s)", err=True)
        raise typer.Exit(1)


@runbook_app.command("sync")
def sync(ctx: typer.Context) -> None:
    """Re-read the configured runbooks folder now (the worker does it every 5 minutes)."""
    with session_scope(ctx) as session:
        result = runbooks.sync(session, actor=local_actor())
    emit(ctx, result.model_dump())


@runbook_app.command("run")
def run(ctx: typer.Context, path: PathArg, step: Annotated[str, typer.Argument(help="The step's name ({step=NAME} on its fence).")],
        yes: Annotated[bool, typer.Option("--yes", help="Confirm: run it. Without --yes (or with --dry-run) nothing runs.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the exact command and whether it is allowed; run nothing.")] = False,
        now: Annotated[bool, typer.Option("--now", help="Run it in this process and wait, instead of queuing it for a worker.")] = False,
        incident: Annotated[Optional[int], typer.Option(help="The incident this is run for (its timeline records the run).")] = None) -> None:
    """Run an executable step through its allow-listed runner, after confirmation (--yes). Exit 1 when it fails."""
    if dry_run or not yes:
        with session_scope(ctx) as session:
            plan = steps.dry_run(session, path=path, step=step, actor=local_actor())
        emit(ctx, plan.model_dump())
        if not dry_run:
            typer.echo("error: nothing was run; pass --yes to confirm", err=True)
            raise typer.Exit(2)
        return
    with session_scope(ctx) as session:
        result = steps.run_step(session, path=path, step=step, actor=local_actor(), confirm=True, incident_id=incident)
    if now:
        container = state(ctx).container()
        result = steps.execute(container.session_factory, run_id=result.id, egress=Egress.from_settings(container.settings))
    emit(ctx, result.model_dump(mode="json"))
    if result.status in ("failed", "timed_out"):
        typer.echo(f"error: step '{step}' {result.status}: {result.reason}", err=True)
        raise typer.Exit(1)


def _reviewer(name: str | None):
    actor = local_actor()
    return dataclasses.replace(actor, name=name) if name else actor


@review_app.command("request")
def review_request(ctx: typer.Context, path: PathArg,
                   note: Annotated[Optional[str], typer.Option(help="What to look at.")] = None) -> None:
    """Ask for a review of a document."""
    with session_scope(ctx) as session:
        review = runbooks.request_review(session, path=path, actor=local_actor(), note=note)
    emit(ctx, review.model_dump(mode="json"))


@review_app.command("approve")
def review_approve(ctx: typer.Context, path: PathArg,
                   reviewer: Annotated[str, typer.Option("--reviewer", help="Your person handle (must not be the last author).")],
                   note: Annotated[Optional[str], typer.Option(help="What you checked.")] = None) -> None:
    """Record a review of the document as it stands; prints the front-matter line to commit."""
    with session_scope(ctx) as session:
        review = runbooks.approve_review(session, path=path, actor=_reviewer(reviewer), note=note)
    emit(ctx, review.model_dump(mode="json"))
    typer.echo(f"front matter: last_reviewed: {{date: {review.approved_at.date().isoformat()}, by: {reviewer}}}", err=True)


@review_app.command("list")
def review_list(ctx: typer.Context, path: PathArg) -> None:
    """A document's review requests and reviews, newest first."""
    with session_scope(ctx) as session:
        rows = runbooks.list_reviews(session, path=path, actor=local_actor())
    emit(ctx, [r.model_dump(mode="json") for r in rows], columns=["id", "status", "requested_by", "reviewer", "approved_at", "commit"])


@runbook_app.command("init")
def init(ctx: typer.Context, service: Annotated[str, typer.Argument(help="The catalog service.")],
         kind: Annotated[str, typer.Option(help="runbook, incident-process, deploy-procedure, rollback-procedure, dr-plan.")] = "runbook",
         directory: Annotated[Optional[Path], typer.Option("--dir", help="Where to write (default: the configured runbooks folder).")] = None,
         force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
         stdout: Annotated[bool, typer.Option("--stdout", help="Print the template instead of writing it.")] = False) -> None:
    """Write a template pre-filled from the catalog, monitors, alert rules, SLOs, backups and on-call."""
    with session_scope(ctx) as session:
        if stdout:
            typer.echo(scaffold.render(session, service=service, kind=kind, actor=local_actor()))
            return
        row = runbooks.current_config(session, actor=local_actor())
        folder = directory or (runbooks.folder_path(row.path) if row else None)
        if folder is None:
            typer.echo("error: no runbooks folder is configured; pass --dir or --stdout", err=True)
            raise typer.Exit(2)
        target = scaffold.write(session, service=service, kind=kind, actor=local_actor(), directory=folder, force=force)
    emit(ctx, {"written": str(target), "next": "fill in the TODOs, commit it, then `watchkeeper runbook sync`"})
