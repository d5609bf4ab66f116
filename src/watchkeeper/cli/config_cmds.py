"""validate and apply: config-as-code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from watchkeeper.cli.common import emit, local_actor, session_scope, state
from watchkeeper.configfile import loader, plan


def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", "-f", help="The watchkeeper.yaml to check.")],
) -> None:
    """Check a config file without touching the database; prints file:line:column errors and
    exits 2 when there are any."""
    try:
        cfg = loader.load_file(file)
    except loader.ConfigInvalid as exc:
        if state(ctx).json:
            emit(ctx, {"valid": False, "problems": [p.__dict__ for p in exc.problems]})
        else:
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            typer.echo(f"error: {file} has {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(2)  # bad input, as main() exits for InvalidInput
    emit(ctx, {"valid": True, "file": str(file), "people": len(cfg.people), "teams": len(cfg.teams), "services": len(cfg.services)})


def apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", "-f", help="The watchkeeper.yaml to apply.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and change nothing.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Also delete config-owned objects this file no longer declares "
                                        "(only in the sections the file has).")] = False,
) -> None:
    """Make the database match the file, in one transaction (all or nothing).

    Objects the file declares are created and updated. Config-owned objects missing from the
    file are listed as kept unless --prune is given; sections the file leaves out are never
    touched; objects made at run time (incidents, silences, sign-offs, ...) are never deleted.
    Applying twice changes nothing.
    """
    try:
        cfg = loader.load_file(file)
    except loader.ConfigInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"error: {file} has {len(exc.problems)} problem(s); nothing was applied", err=True)
        raise typer.Exit(2)  # bad input, as main() exits for InvalidInput
    actor = local_actor("apply")
    with session_scope(ctx) as session:
        if dry_run:
            result = plan.plan(session, cfg, actor=actor, prune=prune)
            session.rollback()
        else:
            result = plan.apply(session, cfg, actor=actor, source_text=file.read_text(encoding="utf-8"), prune=prune)
    if state(ctx).json:
        emit(ctx, {"dry_run": dry_run, "prune": prune, "summary": result.summary(),
                   "changes": [c.__dict__ for c in result.changes]})
        return
    for change in result.changes:
        typer.echo(change.describe())
    s = result.summary()
    verb = "would" if dry_run else "did"
    if result.empty:
        typer.echo("No changes: the database already matches the file.")
    else:
        typer.echo(f"{'Plan' if dry_run else 'Applied'}: {verb} create {s['create']}, update {s['update']}, delete {s['delete']}.")
    if s["kept"]:
        typer.echo(f"Kept {s['kept']} config-owned object(s) this file does not declare; `apply --prune` deletes them.")


def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of watchkeeper.yaml (for editors and CI)."""
    import json

    from watchkeeper.configfile.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
