"""Schedules cron(8) would never run are refused where they are written (issue 10 item 8):
the config file names file:line:column, the API answers a one-line 422, the CLI one line and
a non-zero exit. Before, `0 0 30 2 *` passed validate and apply, then every ping answered 503
(croniter found no next date) and the monitor could never page."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories.catalog import make_service
from watchkeeper import cron
from watchkeeper.cli.main import app as cli_app
from watchkeeper.configfile import loader

UTC = dt.timezone.utc
DATA = Path(__file__).resolve().parents[1] / "config" / "testdata"
runner = CliRunner()


@pytest.mark.parametrize("expr, message", [
    ("0 0 30 2 *", "cron '0 0 30 2 *' never fires: no month it names has day '30'; pick a day the month has (or L for its last day)"),
    ("* * 31 4 *", "cron '* * 31 4 *' never fires: no month it names has day '31'"),
    ("0 0 31 2,4,6 *", "never fires: no month it names has day '31'"),
    ("0 0 */100 * MON#4", "never fires: no date matches both its day-of-month '*/100' and its day-of-week 'MON#4'"),
    ("0 0 0 * * *", "cron '0 0 0 * * *' has 6 fields; write the five of crontab(5) (minute hour day-of-month month "
                    "day-of-week): seconds and years are not supported"),
    ("0 0 12 * * ? 2027", "has 7 fields"),
    ("@reboot", "cron '@reboot' has no time at which a run is due; give the job a period (e.g. period: 1d) or a five-field schedule"),
    ("@fortnightly", "cron '@fortnightly' is not a known shortcut; use one of @yearly, @annually, @monthly, @weekly, @daily, "
                     "@midnight, @hourly or five fields"),
    ("", "the cron line is empty"),
])
def test_schedules_that_never_run_are_refused_in_one_line(expr, message):
    with pytest.raises(cron.CronInvalid) as exc:
        cron.check(expr)
    assert message in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("expr", ["0 0 29 2 *", "0 0 * 2 MON#5", "0 0 31 * *", "0 0 30 2 1", "0 0 L 2 *"])
def test_rare_but_real_schedules_are_accepted(expr):
    # Feb 29 (leap years), a fifth Monday in February (e.g. 2044), the 31st (7 months), the 30th
    # of February OR any Monday (neither field starts with *: either day matches)
    cron.check(expr)
    assert cron.next_run(expr, after=dt.datetime(2026, 1, 1, tzinfo=UTC), timezone="UTC") is not None


def test_the_config_file_names_the_line_and_column_of_the_cron_value():
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_file(DATA / "heartbeat-cron-never-fires.yaml")
    file = DATA / "heartbeat-cron-never-fires.yaml"
    assert [str(p) for p in exc.value.problems] == [
        f"{file}:9:13: monitors[0].heartbeat.cron: cron '0 0 30 2 *' never fires: no month it names has day '30'; "
        "pick a day the month has (or L for its last day) — change the value as described",
        f"{file}:11:23: monitors[1].heartbeat.cron: cron '0 0 * * * *' has 6 fields; write the five of crontab(5) "
        "(minute hour day-of-month month day-of-week): seconds and years are not supported — change the value as described",
        f"{file}:13:23: monitors[2].heartbeat.cron: cron '@reboot' has no time at which a run is due; give the job a "
        "period (e.g. period: 1d) or a five-field schedule — change the value as described",
    ]


def test_validate_refuses_the_file_in_one_line_per_problem():
    file = DATA / "heartbeat-cron-never-fires.yaml"
    result = runner.invoke(cli_app, ["validate", "-f", str(file)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{file}:9:13: monitors[0].heartbeat.cron: cron '0 0 30 2 *' never fires")
    assert lines[-1] == f"error: {file} has 3 problem(s)" and "Traceback" not in result.output


def test_the_api_answers_a_one_line_422(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    body = {"name": "feb-30", "service": "checkout", "heartbeat": {"cron": "* * 31 4 *"}}
    r = client.post("/api/v1/monitors", headers=personas["alice"].headers, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "cron '* * 31 4 *' never fires: no month it names has day '31'" in error["message"]
    assert "\n" not in error["message"] and error["field"].endswith("heartbeat.cron")
    window = {"name": "never", "service": "checkout", "starts_at": "2026-03-01T02:00:00Z", "duration": "1h", "cron": "0 0 30 2 *"}
    r = client.post("/api/v1/maintenance-windows", headers=personas["root"].headers, json=window)
    assert r.status_code == 422 and "never fires" in r.json()["error"]["message"] and r.json()["error"]["field"] == "cron"


def test_the_maintenance_cli_refuses_in_one_line_and_exits_2(tmp_path):
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'wk.db'}", "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "watchkeeper", "maintenance", "add", "x", "--service", "checkout",
                           "--duration", "1h", "--cron", "0 0 30 2 *"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: --cron: cron '0 0 30 2 *' never fires: no month it names has day '30'; "
                                        "pick a day the month has (or L for its last day)"]
