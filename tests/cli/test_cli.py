"""The CLI as a new user meets it: help everywhere, tables and --json, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from watchkeeper.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "watchkeeper.yaml"
runner = CliRunner()


def _commands(group, prefix=()):
    """Every command under `group`, the root's lazily loaded verbs included."""
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + (name,), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, prefix + (name,))


def test_every_verb_has_help_text():
    root = typer.main.get_command(app)
    seen = 0
    for path, cmd in _commands(root):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert (cmd.help or cmd.short_help or "").strip(), f"`watchkeeper {' '.join(path)}` has no help text"
        seen += 1
    assert seen >= 20


def test_root_help_documents_the_global_options():
    result = runner.invoke(app, ["--help"])
    assert "--database-url" in result.output and "--json" in result.output and "WATCHKEEPER_DATABASE_URL" in result.output


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(args, url, cwd, check=True):
    """Run `watchkeeper ARGS` in-process through the real entry point (main(): global options,
    error handling, exit codes), with the database chosen by WATCHKEEPER_DATABASE_URL."""
    import contextlib
    import io

    from watchkeeper.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in ("WATCHKEEPER_DATABASE_URL", "WATCHKEEPER_DATA_DIR")}
    os.environ.update({"WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_DATA_DIR": str(cwd / "data")})
    previous = os.getcwd()
    os.chdir(cwd)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(previous)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result = Result(code, out.getvalue(), err.getvalue())
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_the_console_script_runs_as_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "watchkeeper", "--json", "validate", "-f", str(EXAMPLE)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["valid"] is True


@pytest.fixture
def cli_db(fresh_url, tmp_path):
    return fresh_url, tmp_path


def test_new_user_walkthrough_on_the_selected_store(cli_db):
    url, cwd = cli_db
    assert "valid" in _run(["validate", "-f", str(EXAMPLE)], url, cwd).stdout
    dry = _run(["apply", "-f", str(EXAMPLE), "--dry-run"], url, cwd).stdout
    assert "create service 'demo'" in dry
    assert json.loads(_run(["--json", "service", "list"], url, cwd).stdout) == []  # dry run changed nothing
    _run(["apply", "-f", str(EXAMPLE)], url, cwd)
    assert "No changes" in _run(["apply", "-f", str(EXAMPLE)], url, cwd).stdout
    services = json.loads(_run(["--json", "service", "list"], url, cwd).stdout)
    assert {(s["name"], s["stage"]) for s in services} == {("watchkeeper", "MVP"), ("demo", "POC")}
    refused = _run(["promote", "demo", "--to", "PROD"], url, cwd, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: cannot promote 'demo' from POC to PROD: it would skip MVP")
    assert "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
    next_step = _run(["promote", "demo", "--to", "MVP"], url, cwd, check=False)
    # The one-step move reaches the readiness gate (which may still refuse it), never the skip rule.
    assert "skip" not in next_step.stderr
    assert next_step.returncode == 0 or "not ready for MVP" in next_step.stderr


def test_audit_verify_names_an_edited_event(cli_db):
    from sqlalchemy import text

    from watchkeeper.db.engine import make_engine

    url, cwd = cli_db
    _run(["apply", "-f", str(EXAMPLE)], url, cwd)
    assert _run(["audit", "verify"], url, cwd).stdout.startswith("ok:")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET target = 'service:nothing' WHERE seq = 3"))
    engine.dispose()
    result = _run(["audit", "verify"], url, cwd, check=False)
    assert result.returncode == 1
    assert "event 3" in result.stderr and "edited" in result.stderr


def test_validate_prints_positions_for_each_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nteams:\n  - name: t\nservices:\n  - name: s\n    team: t\n    tier: x\n    colour: red\n")
    result = runner.invoke(app, ["validate", "-f", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:7:11: services[0].tier" in result.output
    assert f"{bad}:8:5: services[0].colour: unknown key 'colour'" in result.output


def test_bad_database_url_is_a_one_line_error(tmp_path):
    result = _run(["service", "list"], "mysql://nowhere/db", tmp_path, check=False)
    assert result.returncode == 2 and result.stderr.startswith("error: database backend 'mysql' is not supported")


def test_unreachable_database_is_a_one_line_error(tmp_path):
    result = _run(["service", "list"], "postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path, check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: cannot use the database")
    assert "Traceback" not in result.stderr


def test_init_writes_a_valid_commented_config(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "cfg")])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "cfg" / "watchkeeper.yaml").read_text()
    assert written.startswith("#")
    assert runner.invoke(app, ["validate", "-f", str(tmp_path / "cfg" / "watchkeeper.yaml")]).exit_code == 0
    again = runner.invoke(app, ["init", str(tmp_path / "cfg")])
    assert again.exit_code != 0


def test_user_and_token_creation_show_the_secret_once(cli_db):
    url, cwd = cli_db
    created = json.loads(_run(["--json", "user", "create", "dana", "--role", "operator@team:payments"], url, cwd).stdout)
    assert created["grants"] == ["operator@team:payments"] and len(created["password"]) >= 16
    token = json.loads(_run(["--json", "token", "create", "--user", "dana", "--name", "ci", "--scope", "deploy"], url, cwd).stdout)
    assert token["token"].startswith("wk_")
    listed = _run(["--json", "token", "list", "--user", "dana"], url, cwd).stdout
    assert token["token"] not in listed and token["prefix"] in listed


def test_global_flags_work_after_the_verb_too(cli_db):
    """`watchkeeper service list --json` is what people type; it means `--json service list`,
    and a command with its own --json (readiness) keeps it."""
    url, cwd = cli_db
    _run(["apply", "-f", str(EXAMPLE)], url, cwd)
    before = json.loads(_run(["--json", "service", "list"], url, cwd).stdout)
    after = json.loads(_run(["service", "list", "--json"], url, cwd).stdout)
    assert before == after and before, "the services of the example"
    assert json.loads(_run(["team", "list", "--json", "--debug"], url, cwd).stdout)
    table = _run(["service", "list"], url, cwd).stdout
    assert not table.lstrip().startswith("["), "without --json the output is a table"
    # An unknown option after the verb is still refused (not hoisted): exit 2, Click's usage error.
    assert _run(["service", "list", "--jsonx"], url, cwd, check=False).returncode == 2


def test_a_validation_error_that_escapes_a_command_is_one_line_naming_the_field(tmp_path, monkeypatch):
    """Safety net: a pydantic error no command turned into InvalidInput still prints one line
    naming the field, exit 2 (bad input) — never "internal error: ValidationError …"."""
    from pydantic import BaseModel, Field

    from watchkeeper.configfile import schema

    class Window(BaseModel):
        duration_minutes: int = Field(ge=1)

    def broken():
        Window(duration_minutes=0)

    monkeypatch.setattr(schema, "json_schema", broken)
    result = _run(["schema"], f"sqlite:///{tmp_path / 'x.db'}", tmp_path, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "duration_minutes" in lines[0] and "internal error" not in lines[0], result.stderr
