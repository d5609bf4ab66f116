"""`watchkeeper monitor …` as a new user meets it."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from tests.monitoring.servers import HttpTarget
from watchkeeper.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "watchkeeper.yaml"


def wk(url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """Run the real entry point in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in ("WATCHKEEPER_DATABASE_URL", "WATCHKEEPER_DATA_DIR")}
    os.environ.update({"WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data")})
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code, out.getvalue(), err.getvalue()


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(f"""
version: 1
teams: [{{name: web}}]
services: [{{name: shop, team: web}}]
monitors:
  - name: shop-home
    service: shop
    interval: 30s
    timeout: 2s
    http:
      url: {url}/ok
      json:
        - path: $.status
          value: ok
  - name: shop-backup
    service: shop
    heartbeat: {{period: 1d, grace: 1h}}
""")
    return path


def test_monitor_check_prints_up_then_down_with_the_connection_error(fresh_url, tmp_path):
    target = HttpTarget().__enter__()
    try:
        code, out, err = wk(fresh_url, tmp_path, "apply", "-f", str(_config(tmp_path, target.url)))
        assert code == 0, err
        code, out, err = wk(fresh_url, tmp_path, "monitor", "check", "shop-home")
        assert code == 0, err
        lines = dict(line.split(None, 1) for line in out.strip().splitlines())
        assert lines["status"] == "up" and lines["ok"] == "True" and float(lines["latency_ms"]) > 0
    finally:
        target.stop()
    code, out, err = wk(fresh_url, tmp_path, "monitor", "check", "shop-home")
    assert code == 1
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert lines["status"] == "down"
    assert lines["error"].startswith("connection failed:") and "Connection refused" in lines["error"]


def test_monitor_list_show_and_json(fresh_url, tmp_path):
    with HttpTarget() as target:
        assert wk(fresh_url, tmp_path, "apply", "-f", str(_config(tmp_path, target.url)))[0] == 0
        code, out, _ = wk(fresh_url, tmp_path, "monitor", "list")
        assert code == 0
        header, *rows = out.strip().splitlines()
        assert header.split() == ["NAME", "KIND", "STATUS", "SERVICE", "LAST_CHECK", "UPTIME_24H", "ERROR"]
        assert [r.split()[:3] for r in rows] == [["shop-backup", "heartbeat", "pending"], ["shop-home", "http", "pending"]]
        code, out, _ = wk(fresh_url, tmp_path, "--json", "monitor", "show", "shop-backup")
        data = json.loads(out)
        assert data["kind"] == "heartbeat" and data["ping_path"].startswith("/ping/")
        code, out, _ = wk(fresh_url, tmp_path, "--json", "monitor", "check", "shop-backup")
        assert code == 1 and json.loads(out)["error"] == "no ping received yet"


def test_monitor_push_stores_a_kpi_and_bad_input_is_one_line(fresh_url, tmp_path):
    code, out, err = wk(fresh_url, tmp_path, "--json", "monitor", "push", "orders_total", "42", "-l", "region=eu")
    assert code == 0, err
    assert json.loads(out) == {"accepted": 1, "series": 1}
    code, out, err = wk(fresh_url, tmp_path, "monitor", "push", "orders_total", "42", "-l", "region")
    assert code == 2 and err.strip() == "error: label 'region' is not key=value; write e.g. --label region=eu"
    code, _, err = wk(fresh_url, tmp_path, "monitor", "check", "nope")
    assert code == 1 and err.strip() == "error: no monitor named 'nope'; `watchkeeper monitor list` shows them"


def test_report_verbs_answer_from_a_real_database(fresh_url, tmp_path):
    with HttpTarget() as target:
        assert wk(fresh_url, tmp_path, "apply", "-f", str(_config(tmp_path, target.url)))[0] == 0
    code, out, err = wk(fresh_url, tmp_path, "--json", "monitor", "sla", "--month", "2026-01")
    assert code == 0, err
    assert [(r["service"], r["month"], r["source"]) for r in json.loads(out)] == [("shop", "2026-01", "monitors:shop-home")]
    for verb in ("rules", "slos", "signals"):
        code, out, err = wk(fresh_url, tmp_path, "--json", "monitor", verb)
        assert (code, json.loads(out)) == (0, []), err


@pytest.mark.parametrize("verb", ["list", "show", "check", "pause", "resume", "delete", "push", "signals", "rules", "slos", "sla"])
def test_every_monitor_verb_has_help(verb, tmp_path):
    code, out, _ = wk("sqlite:///unused.db", tmp_path, "monitor", verb, "--help")
    assert code == 0 and "Usage" in out
