"""What every CLI command shares: global options, the container, output, the local actor."""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
from collections.abc import Iterator, Sequence
from typing import Any

import typer
from sqlalchemy.orm import Session

from watchkeeper.app import Container, build
from watchkeeper.auth.service import Actor
from watchkeeper.config import Settings
from watchkeeper.db.engine import transaction
from watchkeeper.db.types import jsonable


@dataclasses.dataclass
class CliState:
    database_url: str | None = None
    json: bool = False
    debug: bool = False
    _container: Container | None = None

    def settings(self, **overrides) -> Settings:
        return Settings.load(database_url=self.database_url, **overrides)

    def container(self) -> Container:
        if self._container is None:
            self._container = build(self.settings())
        return self._container

    def close(self) -> None:
        if self._container is not None:
            self._container.dispose()
            self._container = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = CliState()
        # Close the database pool when the command ends (matters when commands run in-process).
        root.call_on_close(root.obj.close)
    return root.obj


def local_actor(source: str = "cli") -> Actor:
    """Whoever runs the CLI on the server has the database, so acts with full rights; the
    audit log records the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor.system(f"{source}:{user}", source)


@contextlib.contextmanager
def session_scope(ctx: typer.Context, *, migrate: bool = True) -> Iterator[Session]:
    """A session whose work commits when the command succeeds and rolls back otherwise."""
    container = state(ctx).container()
    if migrate:
        from watchkeeper.db import migrate as migrations

        if not migrations.is_current(container.engine):
            with migrations.exclusive(container.engine):
                migrations.upgrade(container.engine)
    with transaction(container.session_factory) as session:
        yield session


def emit(ctx: typer.Context, data: Any, *, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """Print `data` as JSON (--json) or as a table / key-value block for people."""
    plain = jsonable(data)
    if state(ctx).json:
        typer.echo(json.dumps(plain, indent=2, sort_keys=False))
        return
    if isinstance(plain, list):
        typer.echo(table(plain, columns))
    elif isinstance(plain, dict):
        width = max((len(k) for k in plain), default=0)
        for key, value in plain.items():
            typer.echo(f"{key.ljust(width)}  {_cell(value)}")
    else:
        typer.echo(str(plain))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items() if v is not None) or "-"
    return str(value)


def table(rows: list[dict], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


class DefaultCommandGroup(typer.core.TyperGroup):
    """A command group that runs its default command when the first word is not one of its
    commands: `watchkeeper readiness checkout` means `watchkeeper readiness check checkout`,
    while `watchkeeper readiness waive ...` still reaches `waive`."""

    default_command = "check"

    def parse_args(self, ctx, args):
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands and not any(a in ("-h", "--help") for a in args[:1]):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def default_group(command: str) -> type[DefaultCommandGroup]:
    """A DefaultCommandGroup class whose default is `command` (for `typer.Typer(cls=...)`)."""
    return type(f"DefaultTo{command.title()}", (DefaultCommandGroup,), {"default_command": command})


def validated(model, data: dict):
    """Build a pydantic model from CLI input; a validation error becomes a one-line InvalidInput
    naming the option, instead of a traceback."""
    from pydantic import ValidationError

    from watchkeeper.errors import InvalidInput
    from watchkeeper.validation import dotted, first_problem

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problem = first_problem(exc.errors())
        loc = dotted(problem.loc)
        option = f"--{loc.replace('_', '-')}" if loc else ""
        raise InvalidInput(problem.line(option, count_more=False), field=loc or None) from None
