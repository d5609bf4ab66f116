"""Chromium (Playwright) opens the deploy page of a canary that rolled back and the change
calendar. With WATCHKEEPER_SCREENSHOTS=docs/screenshots the screenshots land there."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.deploys.canary import seed_calendar, seed_canary
from tests.deploys.peers import FixedService
from tests.web.conftest import browser, free_port  # noqa: F401 - the shared Chromium fixture

pytestmark = pytest.mark.slow
SHOTS = Path(os.environ["WATCHKEEPER_SCREENSHOTS"]) if os.environ.get("WATCHKEEPER_SCREENSHOTS") else None


@pytest.fixture
def deploy_server(fresh_url, tmp_path):
    import uvicorn

    from watchkeeper import app as wk_app
    from watchkeeper.api.app import create_app
    from watchkeeper.app import build, prepare_database
    from watchkeeper.auth import service as auth
    from watchkeeper.auth.schemas import Grant, UserCreate
    from watchkeeper.auth.service import Actor
    from watchkeeper.config import Settings

    port = free_port()
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", port=port, worker_enabled=False,
                        secret_key="browser-test-secret-0123456789")
    container = build(settings)
    prepare_database(container)
    with FixedService("1.4.2", status=500) as bad, container.session() as s:
        auth.create_user(s, data=UserCreate(username="erin", password="erin-password-123", grants=[Grant.parse("admin")]),
                         actor=Actor.system("test", "system"))
        deploy_id = seed_canary(s, bad_url=f"http://127.0.0.1:{bad.port}/", log_path=str(tmp_path / "hook.log"))
        seed_calendar(s)
        s.commit()
        wk_app.worker(container).run_once()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}", deploy_id
    server.should_exit = True
    thread.join(timeout=10)
    container.dispose()


def _shot(page, name: str, tmp_path: Path) -> Path:
    target = (SHOTS or tmp_path) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


def test_canary_page_and_change_calendar(deploy_server, browser, tmp_path, backend):  # noqa: F811
    base, deploy_id = deploy_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    # Chromium asks for /favicon.ico on its own (no such file: a console 404 outside the page);
    # every resource the pages load is checked through the response events instead.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/deploys")
    page.click(f"a[href='/deploys/{deploy_id}']")
    page.wait_for_url(f"{base}/deploys/{deploy_id}")
    assert "rolled back" in page.inner_text("h1")
    assert page.locator("table.steps tbody tr").count() == 4
    assert "0/5 healthy samples" in page.inner_text("table.steps")
    shot = _shot(page, "deploy-canary-rolled-back" if backend == "sqlite" else f"deploy-canary-rolled-back-{backend}", tmp_path)
    assert shot.stat().st_size > 10_000
    page.goto(f"{base}/deploys/calendar")
    assert page.locator(".calendar .day").count() == 7
    assert page.locator(".entry.flagged").count() >= 1
    assert "deploy in freeze" in page.inner_text("section.conflicts")
    _shot(page, "change-calendar-week" if backend == "sqlite" else f"change-calendar-week-{backend}", tmp_path)
    page.goto(f"{base}/deploys/calendar?view=month")
    assert page.locator(".calendar .day").count() == 42
    _shot(page, "change-calendar-month" if backend == "sqlite" else f"change-calendar-month-{backend}", tmp_path)
    assert errors == []
