"""`watchkeeper` — the root command, global options and error handling.

Verbs load lazily: `watchkeeper --help` and `watchkeeper alert list` import only the root and
the one verb used (its domain's CLI module and what that needs), not every domain, the ORM and
the web stack. The server and config verbs below and each domain's descriptor (`cli`) name the
verbs; `LazyGroup` turns a name into a command the first time it is asked for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

# Help as Click prints it: flags shown as flags (not `<bool>`), and no Rich to import, which
# took most of `watchkeeper --help`'s time. Set before Typer is imported; an explicit
# TYPER_USE_RICH=1 in the environment brings the boxed help back.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402
from typer.main import TyperGroup  # noqa: E402

from watchkeeper import __version__, domains  # noqa: E402
from watchkeeper.domain import Verb, resolve  # noqa: E402
from watchkeeper.errors import InvalidInput, WatchkeeperError  # noqa: E402

# The verbs of the adapters themselves, before the domains' (in the order `--help` lists them).
CORE_VERBS: tuple[Verb, ...] = (
    Verb("serve", "Run the API, the web UI and the worker.",
         "watchkeeper.cli.server:serve"),
    Verb("worker", "Run a worker process (as many as you like).",
         "watchkeeper.cli.server:worker"),
    Verb("migrate", "Bring the database schema up to date.",
         "watchkeeper.cli.server:migrate"),
    Verb("init", "Write a commented example watchkeeper.yaml.", "watchkeeper.cli.server:init"),
    Verb("validate", "Check a config file; errors as file:line:column.",
         "watchkeeper.cli.config_cmds:validate"),
    Verb("apply", "Make the database match a config file.",
         "watchkeeper.cli.config_cmds:apply"),
    Verb("schema", "Print the JSON Schema of watchkeeper.yaml.", "watchkeeper.cli.config_cmds:schema"),
    Verb("jobs", "Inspect the worker's job queue.", "watchkeeper.cli.server:jobs_app"),
)


def verbs() -> dict[str, list[Verb]]:
    """Every verb by name: the core's, then each domain's in the composition root's order. A
    name's first verb is the group (or command); later ones with `extends` add to it."""
    out: dict[str, list[Verb]] = {}
    for verb in (*CORE_VERBS, *(v for d in domains.all() for v in d.cli)):
        if verb.name in out and not verb.extends:
            raise RuntimeError(f"two domains declare the verb {verb.name!r}; one must say extends=True")
        out.setdefault(verb.name, []).append(verb)
    return out


def load(name: str, declared: list[Verb]) -> Any:
    """The click command of one verb, built from its Typer app or function (and extensions)."""
    first, extensions = declared[0], declared[1:]
    target = resolve(first.app)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        for ext in extensions:
            resolve(ext.app)(target)
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


GLOBAL_FLAGS = ("--json", "--debug")


class LazyGroup(TyperGroup):
    """The root group: lists every verb from its declaration, imports a verb when it runs."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._verbs = verbs()
        self._listing = False

    def list_commands(self, ctx) -> list[str]:
        return [*self.commands, *(n for n in self._verbs if n not in self.commands)]

    def get_command(self, ctx, cmd_name: str):
        if cmd_name in self.commands or cmd_name not in self._verbs:
            return self.commands.get(cmd_name)
        if self._listing:  # `watchkeeper --help`: the declared line, nothing imported
            return typer.main.TyperCommand(cmd_name, help=self._verbs[cmd_name][0].help)
        self.commands[cmd_name] = load(cmd_name, self._verbs[cmd_name])
        return self.commands[cmd_name]

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._hoist_global_flags(ctx, list(args)))

    def _hoist_global_flags(self, ctx, args: list[str]) -> list[str]:
        """`watchkeeper service list --json` is what people type: a global flag after the verb
        moves in front of it, unless the command it lands on has an option of that name."""
        end = args.index("--") if "--" in args else len(args)
        verb_at = next((i for i, a in enumerate(args[:end]) if not a.startswith("-")), None)
        if verb_at is None or not any(f in args[verb_at + 1:end] for f in GLOBAL_FLAGS):
            return args
        command = self.get_command(ctx, args[verb_at])
        for token in args[verb_at + 1:end]:  # follow sub-groups: `monitor rule list`
            sub = getattr(command, "commands", {}).get(token)
            if sub is None:
                break
            command = sub
        own = {opt for param in getattr(command, "params", ()) for opt in getattr(param, "opts", ())}
        moved = [f for f in GLOBAL_FLAGS if f in args[verb_at + 1:end] and f not in own]
        rest = [a for i, a in enumerate(args) if not (verb_at < i < end and a in moved)]
        return [*moved, *rest]

    def resolve_command(self, ctx, args):
        if args and args[0] in self._verbs:
            self.get_command(ctx, args[0])
        return super().resolve_command(ctx, args)

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    name="watchkeeper",
    help="Watchkeeper: the production-readiness gate and the watch over services in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"watchkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[Optional[str], typer.Option(
        "--database-url", envvar="WATCHKEEPER_DATABASE_URL",
        help="Store to use: sqlite:///PATH (default sqlite:///./watchkeeper.db) or postgresql+psycopg://USER@HOST/DB.",
    )] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Global options apply to every command; settings also come from WATCHKEEPER_* variables
    (see docs/configuration.md)."""
    from watchkeeper.cli import common

    st = common.state(ctx)
    st.database_url, st.json, st.debug = database_url, json_output, debug


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit:
        raise
    except InvalidInput as exc:
        # Bad input exits 2, as a usage error does (Click's own), so scripts can tell "fix the
        # command or the file" from "it failed" (1).
        _fail(exc, exc.message, debug, code=2)
    except WatchkeeperError as exc:
        _fail(exc, exc.message, debug)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - never show a user a bare traceback
        pydantic = sys.modules.get("pydantic")
        if pydantic is not None and isinstance(exc, pydantic.ValidationError):
            # A model built from input without common.validated(): still one line naming the field.
            from watchkeeper.validation import invalid_input

            _fail(exc, invalid_input(exc.errors()).message, debug, code=2)
        _fail(exc, _database_problem(exc) or f"internal error: {type(exc).__name__}: {exc}; rerun with --debug and report it",
              debug)


def _database_problem(exc: Exception) -> str | None:
    """The line for a database error. SQLAlchemy is imported only by verbs that use the store,
    so an exception can be one of its errors only if it is loaded."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return None
    if isinstance(exc, sa_exc.OperationalError):
        return (f"cannot use the database: {str(exc.orig).strip().splitlines()[0] if exc.orig else exc}; "
                "check WATCHKEEPER_DATABASE_URL and that the server is running")
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return f"database error: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def _fail(exc: BaseException, message: str, debug: bool, *, code: int = 1) -> None:
    if debug:
        import traceback

        traceback.print_exception(exc)
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)


__all__ = ["app", "main", "Path"]
