"""Monitoring pages: rendered for a logged-in user, and seen in Chromium with their charts."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.monitoring.servers import HttpTarget, free_port
from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.clock import to_ms
from watchkeeper.monitoring.metrics import store
from watchkeeper.monitoring.models import Location, Monitor, Slo
from watchkeeper.monitoring.probes import results
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.probes.kinds import ProbeResult
from watchkeeper.monitoring.probes.results import ResultIn
from watchkeeper.monitoring.probes.schemas import MonitorCreate
from watchkeeper.monitoring.slos import evaluation
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.monitoring.slos.schemas import SloCreate
from watchkeeper.web.monitoring_pages import sparkline

SYSTEM = Actor.system("test", "system")
SHOTS = Path(os.environ["WATCHKEEPER_SCREENSHOTS"]) if os.environ.get("WATCHKEEPER_SCREENSHOTS") else None


def seed(session, target_url: str) -> None:
    """Two monitors with an hour of results (one failing now), and an SLO with a day of traffic."""
    from watchkeeper.catalog import service as catalog
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import ServiceCreate, TeamCreate

    teams.create_team(session, data=TeamCreate(name="web"), actor=SYSTEM)
    catalog.create_service(session, data=ServiceCreate(name="shop", team="web"), actor=SYSTEM)
    for name, path in (("shop-home", "/ok"), ("shop-api", "/status/503")):
        monitoring.create_monitor(session, data=MonitorCreate(name=name, service="shop", interval="1m", failures_before_down=2,
                                                              locations=["eu", "us"], http={"url": f"{target_url}{path}"}),
                                  actor=SYSTEM)
    monitoring.create_monitor(session, data=MonitorCreate(name="shop-backup", service="shop", heartbeat={"period": "1d"}),
                              actor=SYSTEM)
    now = clock.utcnow()
    for m in monitoring.list_monitors(session, actor=SYSTEM):
        if m.kind == "heartbeat":
            continue
        mid = session.execute(select(Monitor.id).where(Monitor.name == m.name)).scalar_one()
        locs = dict(session.execute(select(Location.location, Location.id).where(Location.monitor_id == mid)).all())
        batch = []
        for i in range(60):
            for j, loc in enumerate(("eu", "us")):
                failing = m.name == "shop-api" and i >= 55
                batch.append(ResultIn(location_id=locs[loc], monitor_id=mid, monitor=m.name, location=loc,
                                      slot_ms=to_ms(now) - (60 - i) * 60_000 + j,
                                      checked_at=now - dt.timedelta(minutes=60 - i),
                                      result=ProbeResult(ok=not failing, latency_ms=None if failing else 20 + (i % 7) * 3 + j * 15,
                                                         error="expected status 2xx, 3xx, got 503 Service Unavailable" if failing else None)))
        results.record_results(session, batch, worker="seed")
    store.write(session, [s for i in range(24 * 60) for s in (
        ("req_total", {}, 1000.0, to_ms(now) - (24 * 60 - i) * 60_000),
        ("req_good", {}, 1000.0 - (30 if 600 < i < 660 else 0), to_ms(now) - (24 * 60 - i) * 60_000))])
    slos.create_slo(session, data=SloCreate(name="shop-availability", service="shop", target=99.9, good="req_good",
                                            total="req_total"), actor=SYSTEM)
    evaluation.evaluate_slo(session, session.execute(select(Slo)).scalar_one())


def _login(client, personas):
    r = client.post("/login", data={"username": "root", "password": personas["root"].password, "next": "/monitors"},
                    follow_redirects=False)
    assert r.status_code == 303


def test_pages_render_for_a_logged_in_user(session, client, personas):
    with HttpTarget() as target:
        seed(session, target.url)
        session.commit()
        _login(client, personas)
        page = client.get("/monitors")
        assert page.status_code == 200
        assert page.text.count('class="spark"') == 2 and "got 503 Service Unavailable" in page.text
        detail = client.get("/monitors/shop-api")
        assert detail.status_code == 200 and 'id="latency-chart"' in detail.text and "Recent failures" in detail.text
        assert "Down since" in detail.text
        hb = client.get("/monitors/shop-backup")
        assert "/ping/" in hb.text and "Ping URL" in hb.text
        assert "shop-availability" in client.get("/slos").text
        slo = client.get("/slos/shop-availability")
        assert slo.status_code == 200 and 'id="burn-chart"' in slo.text and "Error budget" in slo.text
        csrf = client.get("/monitors/shop-home").text.split('name="csrf_token" value="')[1].split('"')[0]
        result = client.post("/monitors/shop-home/check", data={"csrf_token": csrf})
        assert result.status_code == 200 and 'status-up' in result.text
        assert client.post("/monitors/shop-home/check", data={"csrf_token": "wrong"}).status_code == 403


def test_pages_need_a_login(client):
    r = client.get("/monitors", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_sparkline_marks_failures_and_scales_to_the_slowest_check():
    s = sparkline([(True, 10.0), (False, None), (True, 40.0)], width=100, height=24)
    assert s["line"] == "0.0,17.0 50.0,22.0 100.0,2.0" and s["fails"] == [50.0]
    assert sparkline([])["line"] == ""


@pytest.fixture
def live(fresh_url, tmp_path):
    import uvicorn

    from watchkeeper.api.app import create_app
    from watchkeeper.app import build, prepare_database
    from watchkeeper.auth import service as auth
    from watchkeeper.auth.schemas import Grant, UserCreate
    from watchkeeper.config import Settings

    target = HttpTarget().__enter__()
    port = free_port()
    container = build(Settings(database_url=fresh_url, data_dir=tmp_path / "data", port=port, worker_enabled=False,
                               secret_key="browser-test-secret-0123456789"))
    prepare_database(container)
    with container.session() as s:
        auth.create_user(s, data=UserCreate(username="erin", password="erin-password-123", grants=[Grant.parse("admin")]),
                         actor=SYSTEM)
        seed(s, target.url)
        s.commit()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    target.stop()
    container.dispose()


@pytest.mark.slow
def test_a_person_sees_monitors_charts_and_burn_in_chromium(live, tmp_path, backend):
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    shots = SHOTS or tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{live}/login?next=/monitors")
        page.fill("input[name=username]", "erin")
        page.fill("input[name=password]", "erin-password-123")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live}/monitors")
        assert page.locator("table.grid tbody tr").count() == 3
        assert page.locator("svg.spark line.fail").count() >= 5
        page.screenshot(path=str(shots / f"monitors-{backend}.png"), full_page=True)
        page.click("text=shop-api")
        page.wait_for_url(f"{live}/monitors/shop-api")
        page.wait_for_selector("#latency-chart .uplot canvas")
        assert page.locator("#latency-chart .u-legend").inner_text().count("eu") == 1
        page.click("button:has-text('Check now')")
        page.wait_for_selector("#check-result .check-result")
        assert "got 503" in page.inner_text("#check-result")
        page.screenshot(path=str(shots / f"monitor-{backend}.png"), full_page=True)
        page.goto(f"{live}/slos/shop-availability")
        page.wait_for_selector("#burn-chart .uplot canvas")
        page.screenshot(path=str(shots / f"slo-{backend}.png"), full_page=True)
        browser.close()
    assert (shots / f"monitor-{backend}.png").stat().st_size > 20_000
