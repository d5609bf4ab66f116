"""`watchkeeper` — the root command, global options and error handling."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from watchkeeper import __version__
from watchkeeper import domains
from watchkeeper.cli import common, config_cmds, server
from watchkeeper.errors import InvalidInput, WatchkeeperError

app = typer.Typer(
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
    st = common.state(ctx)
    st.database_url, st.json, st.debug = database_url, json_output, debug


server.register(app)
config_cmds.register(app)
for _register in domains.resolved("cli"):  # each domain's verbs, from its descriptor
    _register(app)


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
    except OperationalError as exc:
        _fail(exc, f"cannot use the database: {str(exc.orig).strip().splitlines()[0] if exc.orig else exc}; "
              "check WATCHKEEPER_DATABASE_URL and that the server is running", debug)
    except SQLAlchemyError as exc:
        _fail(exc, f"database error: {type(exc).__name__}: {str(exc).splitlines()[0]}", debug)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - never show a user a bare traceback
        _fail(exc, f"internal error: {type(exc).__name__}: {exc}; rerun with --debug and report it", debug)


def _fail(exc: BaseException, message: str, debug: bool, *, code: int = 1) -> None:
    if debug:
        import traceback

        traceback.print_exception(exc)
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)


__all__ = ["app", "main", "Path"]
