"""`watchkeeper backup list|run|restore-test|history|self` and `watchkeeper restore`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pathlib import Path

from sqlalchemy.engine import make_url

from watchkeeper.audit import service as audit
from watchkeeper.audit.signing import LazySigner, Signer
from watchkeeper.backups import selfbackup
from watchkeeper.backups import service as backups
from watchkeeper.cli.common import emit, local_actor, session_scope, state
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction

backup_app = typer.Typer(help="Backups and restore tests (docs/backups.md).", no_args_is_help=True)

RUN_COLUMNS = ["id", "kind", "status", "trigger", "started_at", "duration_seconds", "artifact", "data_at", "reason"]


@backup_app.command("list")
def list_jobs(ctx: typer.Context, service: Annotated[Optional[str], typer.Option(help="Only this service's jobs.")] = None) -> None:
    """List backup jobs with their schedules and whether a run holds the job now."""
    with session_scope(ctx) as session:
        rows = backups.list_backups(session, actor=local_actor(), service=service)
    emit(ctx, [r.model_dump() for r in rows],
         columns=["name", "service", "kind", "schedule", "timezone", "next_backup_at", "next_restore_test_at", "running_run_id"])


def _request(ctx: typer.Context, name: str, kind: str, now: bool) -> None:
    with session_scope(ctx) as session:
        run = backups.request_run(session, name=name, kind=kind, actor=local_actor())
    if now:
        run = backups.execute(state(ctx).container().session_factory, run_id=run.id)
    emit(ctx, run.model_dump(exclude={"output"}))
    if run.status in ("failed", "skipped"):
        typer.echo(f"error: {kind.replace('_', ' ')} run {run.id} of '{name}' {run.status}: {run.reason}", err=True)
        raise typer.Exit(1)


@backup_app.command("run")
def run(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Backup job name.")],
        now: Annotated[bool, typer.Option("--now", help="Run it in this process and wait, instead of queuing it for a worker.")] = False) -> None:
    """Back up now (queued for a worker, or run here with --now). Exit 1 when the run fails."""
    _request(ctx, name, "backup", now)


@backup_app.command("restore-test")
def restore_test(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Backup job name.")],
                 now: Annotated[bool, typer.Option("--now", help="Run it in this process and wait, instead of queuing it for a worker.")] = False) -> None:
    """Restore the latest good backup into a scratch location and verify it. Exit 1 when it fails."""
    _request(ctx, name, "restore_test", now)


@backup_app.command("history")
def history(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Backup job name.")],
            kind: Annotated[Optional[str], typer.Option(help="backup or restore_test.")] = None,
            limit: Annotated[int, typer.Option(help="How many runs, newest first (1-1000).")] = 20,
            output: Annotated[bool, typer.Option("--output", help="Include each run's captured tool output.")] = False) -> None:
    """A job's runs, newest first: status, duration, artifact, data age basis, reason."""
    with session_scope(ctx) as session:
        rows = backups.history(session, name=name, actor=local_actor(), kind=kind, limit=limit, with_output=output)
    emit(ctx, [r.model_dump(exclude=None if output else {"output"}) for r in rows], columns=RUN_COLUMNS + (["output"] if output else []))


@backup_app.command("self")
def backup_self(ctx: typer.Context,
                to: Annotated[Optional[Path], typer.Option("--to", help="Directory for the copy (default: DATA_DIR/backups).")] = None) -> None:
    """Copy Watchkeeper's own database (SQLite: online backup API; PostgreSQL: pg_dump) and audit it."""
    cli_state = state(ctx)
    settings = cli_state.settings()
    directory = to or Path(settings.data_dir) / "backups"
    try:
        outcome = selfbackup.backup_self(database_url=settings.database_url, directory=directory)
    except selfbackup.Failed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    with session_scope(ctx) as session:
        selfbackup.record_backup(session, actor=local_actor(), outcome=outcome)
    emit(ctx, {"file": outcome.artifact, "size_bytes": outcome.size_bytes})


def restore(ctx: typer.Context,
            backup: Annotated[Path, typer.Argument(help="A file `watchkeeper backup self` wrote.")],
            into: Annotated[str, typer.Option("--into", help="URL of a fresh database of the same kind (SQLite: a new file).")]) -> None:
    """Restore a self-backup into a fresh database, upgrade its schema and verify the audit chain (exit 1 if broken)."""
    try:
        selfbackup.restore_self(backup=backup, database_url=into)
    except selfbackup.Failed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    settings = state(ctx).settings().model_copy(update={"database_url": into})
    engine = make_engine(into)
    try:
        migrate.upgrade(engine)
        key = settings.audit_key_path()
        signer = Signer.load_or_create(key) if key.exists() else None
        factory = make_session_factory(engine)
        factory.configure(info={audit.SIGNER_INFO: LazySigner(key)})  # the restore's own event re-signs the head
        with transaction(factory) as session:
            report = audit.verify(session, actor=local_actor(), signer=signer)
            if report.ok:
                selfbackup.record_restore(session, actor=local_actor(), backup=backup, report=report)
    finally:
        engine.dispose()
    emit(ctx, {"restored_into": make_url(into).render_as_string(hide_password=True), "audit_ok": report.ok,
               "events_checked": report.events_checked, "checkpoints_checked": report.checkpoints_checked})
    if not report.ok:
        typer.echo(f"error: audit chain broken at event {report.first_bad_seq}: {report.reason}", err=True)
        raise typer.Exit(1)

