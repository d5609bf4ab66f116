"""`watchkeeper alert|silence|maintenance` as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories.alerting import configure
from tests.factories.catalog import make_service
from watchkeeper.cli.main import app as cli_app

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[2] / "src/watchkeeper/alerting/sources"


@pytest.fixture
def db(fresh_url, tmp_path):
    from watchkeeper.app import build, prepare_database
    from watchkeeper.config import Settings

    container = build(Settings(database_url=fresh_url, data_dir=tmp_path / "data"))
    prepare_database(container)
    with container.session() as s:
        make_service(s, name="checkout", team="payments")
        configure(s, receivers=[{"name": "ops", "channels": [{"type": "email", "to": ["ops@example.com"]}]},
                                {"name": "pager", "channels": [{"type": "webhook", "url": "https://hooks.example.com/x"}]}],
                  route={"receiver": "ops", "routes": [{"matchers": ['severity="critical"'], "receiver": "pager"}]})
        s.commit()
    yield fresh_url
    container.dispose()


def _cli(url, *args, ok=True):
    result = runner.invoke(cli_app, ["--database-url", url, *args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def _error(result) -> str:
    """What the user would read: `main()` prints a WatchkeeperError as `error: <message>`."""
    return result.output + str(result.exception or "")


def test_simulate_is_a_dry_run_unless_asked_to_ingest(db):
    """Issue 10.17: `alert simulate` really ingested (and paged)."""
    sample = str(SAMPLES / "alertmanager/samples/firing.json")
    dry = json.loads(_cli(db, "--json", "alert", "simulate", sample).output)
    assert [r["alertname"] for r in dry] == ["HighErrorRate", "HighErrorRate"]
    assert {r["receivers"] for r in dry} <= {"ops", "pager"} and all(r["suppressed"] == "" for r in dry)
    assert json.loads(_cli(db, "--json", "alert", "list", "--status", "firing").output) == []
    text = _cli(db, "alert", "simulate", sample).output
    assert "HighErrorRate  checkout  pager" in text and "RECEIVERS" in text
    _cli(db, "silence", "add", "-m", 'alertname="HighErrorRate"', "--comment", "known issue")
    muted = json.loads(_cli(db, "--json", "alert", "simulate", sample).output)
    assert all(r["suppressed"].startswith("silence") for r in muted), muted


def test_simulate_a_sample_then_list_show_ack_and_mark(db):
    out = json.loads(_cli(db, "--json", "alert", "simulate", "--ingest", str(SAMPLES / "alertmanager/samples/firing.json")).output)
    assert out["created"] == 2
    rows = json.loads(_cli(db, "--json", "alert", "list", "--status", "firing").output)
    assert [r["alertname"] for r in rows] == ["HighErrorRate", "HighErrorRate"]
    first = rows[0]["id"]
    shown = _cli(db, "alert", "show", str(first)).output
    assert "fired" in shown and "checkout" in shown
    acked = json.loads(_cli(db, "--json", "alert", "ack", str(first), "--note", "on it").output)
    assert acked[0]["acked_by"].startswith("cli:")
    marked = json.loads(_cli(db, "--json", "alert", "mark", str(first), "--as", "noise").output)
    assert marked[0]["quality"] == "noise"
    quality = json.loads(_cli(db, "--json", "alert", "quality").output)
    assert quality[0]["alertname"] == "HighErrorRate" and quality[0]["noise"] == 1


def test_route_explains_where_an_alert_goes(db):
    text = _cli(db, "alert", "route", "--labels", "service=checkout,severity=critical").output
    assert "→ receiver pager via route root.0 [webhook]" in text
    assert 'because root.0 matches severity="critical" → receiver pager' in text
    data = json.loads(_cli(db, "--json", "alert", "route", "--labels", "service=checkout").output)
    assert [r["receiver"] for r in data["routes"]] == ["ops"]
    bad = _cli(db, "alert", "route", "--labels", "oops", ok=False)
    assert bad.exit_code != 0 and "name=value" in _error(bad)


def test_silence_add_list_expire(db):
    created = json.loads(_cli(db, "--json", "silence", "add", "-m", "service=checkout", "-m", 'severity=~"warn|info"',
                              "--duration", "2h", "--comment", "db migration").output)
    assert created["matchers"] == ['service="checkout"', 'severity=~"warn|info"'] and created["state"] == "active"
    listed = _cli(db, "silence", "list").output
    assert "db migration" in listed
    _cli(db, "silence", "expire", str(created["id"]))
    assert json.loads(_cli(db, "--json", "silence", "list").output) == []
    again = _cli(db, "silence", "expire", str(created["id"]), ok=False)
    assert again.exit_code == 1


def test_maintenance_add_and_list(db):
    out = json.loads(_cli(db, "--json", "maintenance", "add", "sunday-patching", "--service", "checkout", "--duration", "2h",
                          "--rrule", "FREQ=WEEKLY;BYDAY=SU", "--start", "2026-03-01T02:00:00", "--timezone", "Europe/Berlin").output)
    assert out["rrule"] == "FREQ=WEEKLY;BYDAY=SU" and out["next_start"]
    listed = json.loads(_cli(db, "--json", "maintenance", "list").output)
    assert [w["name"] for w in listed] == ["sunday-patching"]
    bad = _cli(db, "maintenance", "add", "x", "--service", "checkout", "--duration", "1h", "--cron", "nope", ok=False)
    assert bad.exit_code != 0


def test_a_window_in_an_unknown_time_zone_is_a_one_line_error(db):
    from watchkeeper.errors import InvalidInput

    bad = _cli(db, "maintenance", "add", "x", "--service", "checkout", "--duration", "1h",
               "--start", "2026-03-01T02:00:00", "--timezone", "Mars/Olympus", ok=False)
    assert isinstance(bad.exception, InvalidInput)
    assert "unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin or UTC" in _error(bad)


def test_a_silence_regex_re2_refuses_is_a_one_line_error(db):
    from watchkeeper.errors import InvalidInput

    bad = _cli(db, "silence", "add", "-m", 'alertname=~"a{99999999999}"', "--duration", "1h", "--comment", "redos", ok=False)
    assert isinstance(bad.exception, InvalidInput), bad.output
    assert "repetition {99999999999} is too large; counts go up to 1000" in _error(bad) and "Traceback" not in bad.output


def test_a_drill_over_the_cli(db):
    out = json.loads(_cli(db, "--json", "alert", "drill", "checkout", "--deadline", "10m").output)
    assert out["status"] == "pending" and out["receivers"] == ["pager"]
    assert json.loads(_cli(db, "--json", "alert", "drills").output)[0]["service"] == "checkout"
    missing = _cli(db, "alert", "drill", "nope", ok=False)
    assert missing.exit_code == 1 and "no service named 'nope'" in _error(missing)


@pytest.mark.parametrize("verb", [["alert"], ["silence"], ["maintenance"], ["alert", "route"], ["alert", "drill"], ["silence", "add"],
                                  ["maintenance", "add"], ["alert", "simulate"], ["alert", "notifications"]])
def test_every_verb_has_help(verb):
    result = runner.invoke(cli_app, [*verb, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output and len(result.output) > 200
