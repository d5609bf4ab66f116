"""The readiness, sign-off and waiver verbs as a user meets them on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from watchkeeper.cli.main import app as cli_app
from tests.factories.catalog import make_service
from tests.factories.readiness import make_role

runner = CliRunner()


@pytest.fixture
def db(fresh_url, tmp_path):
    from watchkeeper.app import build, prepare_database
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import PersonCreate
    from watchkeeper.config import Settings
    from tests.factories.auth import SYSTEM

    container = build(Settings(database_url=fresh_url, data_dir=tmp_path / "data"))
    prepare_database(container)
    with container.session() as s:
        make_service(s, name="shop", stage="MMP", targets={"rpo": "15m", "rto": "1h"})
        teams.create_person(s, data=PersonCreate(handle="pat"), actor=SYSTEM)
        make_role(s, "product-owner", required_for=["refine"])
        s.commit()
    yield fresh_url
    container.dispose()


def _cli(url, *args):
    result = runner.invoke(cli_app, ["--database-url", url, *args])
    return result


def test_readiness_prints_items_with_status_reason_and_age_and_exits_1_while_failing(db):
    result = _cli(db, "readiness", "shop", "--stage", "PROD")
    assert result.exit_code == 1
    header, columns = result.output.splitlines()[:2]
    assert header.startswith("shop · PROD checklist")
    assert columns.split() == ["ITEM", "LEVEL", "STATUS", "AGE", "REASON", "LINK"]
    assert "refine_signoff" in result.output and "UNKNOWN" in result.output
    as_json = _cli(db, "readiness", "shop", "--stage", "PROD", "--json")
    body = json.loads(as_json.output.split("\nerror:")[0] if "\nerror:" in as_json.output else as_json.output)
    assert body["ready"] is False and as_json.exit_code == 1


def test_signoff_waive_attest_and_history_from_the_cli(db):
    signed = _cli(db, "signoff", "shop", "--checkpoint", "refine", "--role", "product-owner", "--note", "launch plan ok",
                  "--by", "pat")
    assert signed.exit_code == 0, signed.output
    listed = _cli(db, "--json", "signoff", "list", "shop")
    assert json.loads(listed.output)[0]["signer"] == "pat"
    waived = _cli(db, "readiness", "waive", "shop", "dr_plan", "--reason", "DR plan due next sprint", "--expires-in", "14d")
    assert waived.exit_code == 0, waived.output
    waivers = json.loads(_cli(db, "--json", "readiness", "waivers", "shop").output)
    assert waivers[0]["check"] == "dr_plan" and waivers[0]["active"]
    attested = _cli(db, "readiness", "attest", "shop", "load_test", "--by", "pat", "--link", "https://ci.example/k6/42",
                    "--expires-in", "60d")
    assert attested.exit_code == 0, attested.output
    assert _cli(db, "readiness", "refresh", "shop").exit_code == 0
    history = json.loads(_cli(db, "--json", "readiness", "history", "shop", "--check", "dr_plan").output)
    assert history[0]["word"] == "waived"
    card = _cli(db, "readiness", "scorecard", "--stage", "MMP")
    assert card.exit_code == 0 and "LOAD_TEST" in card.output and "pass" in card.output
    item = next(i for i in json.loads(_cli(db, "--json", "readiness", "shop", "--stage", "PROD").output.split("\nerror:")[0])["items"]
                if i["check"] == "refine_signoff")
    assert item["word"] == "pass"


def test_bad_input_is_one_line_on_stderr_with_exit_1(db, tmp_path):
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": db, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "watchkeeper", *args], env=env, capture_output=True, text=True, timeout=120)

    proc = run("readiness", "waive", "shop", "dr_plan", "--reason", "too short")
    assert proc.returncode == 2  # bad input
    assert proc.stderr.strip().splitlines() == ["error: say when it ends: --expires-in 30d or --expires-at 2026-06-30"]
    proc = run("readiness", "waive", "shop", "dr_plan", "--reason", "short", "--expires-in", "3d")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --reason: String should have at least 10 characters")
    proc = run("signoff", "shop", "--checkpoint", "refine", "--role", "cfo", "--note", "fine by me")
    assert proc.returncode == 2 and "unknown stakeholder role 'cfo'" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("readiness", "nope")
    assert proc.returncode == 1 and proc.stderr.strip() == "error: no service named 'nope'; `watchkeeper service list` shows them"
