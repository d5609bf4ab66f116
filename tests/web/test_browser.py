"""A person logs in with Chromium and opens a service page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SHOTS = Path(os.environ.get("WATCHKEEPER_SCREENSHOTS", "")) if os.environ.get("WATCHKEEPER_SCREENSHOTS") else None


def _shot(page, name, tmp_path):
    target = (SHOTS or tmp_path) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


def test_login_and_open_a_service_page(live_server, browser, tmp_path, backend):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(f"{live_server}/services")
    assert page.url.startswith(f"{live_server}/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "wrong username or password" in page.inner_text("[role=alert]")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/services")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 2
    _shot(page, f"services-{backend}", tmp_path)
    page.click("text=Demo shop")
    page.wait_for_url(f"{live_server}/services/demo")
    assert page.locator("h1").inner_text().startswith("Demo shop")
    assert "watchkeeper" in page.inner_text("section.card:has-text('Dependencies')")
    # A skip is impossible from the UI: the only promote button offers the next stage.
    assert page.locator("button:has-text('Promote to MVP')").count() == 1
    shot = _shot(page, f"service-{backend}", tmp_path)
    assert shot.stat().st_size > 10_000
    page.click("nav[aria-label=Main] details.more summary")  # the audit log is under More
    page.click("text=Audit log")
    assert page.locator("table.audit tbody tr").count() >= 5
    _shot(page, f"audit-{backend}", tmp_path)


@pytest.mark.parametrize("path,ready", [("/docs", ".opblock"), ("/redoc", "[role=menuitem], li[data-item-id]")])
def test_the_api_docs_render_with_every_other_origin_unreachable(live_server, browser, path, ready):
    """Swagger UI and ReDoc render with the network cut off outside the app (no CDN)."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    foreign: list[str] = []

    def only_the_app(route):
        if route.request.url.startswith(live_server) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_app)
    errors: list[str] = []
    # ReDoc's sidebar always asks for its vendor's logo from a CDN; the policy blocks that image
    # (no request leaves), which is the point. Any blocked script, style or fetch is a failure.
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text
            and "img-src" not in m.text else None)
    page.goto(f"{live_server}{path}")
    page.wait_for_selector(ready, timeout=30_000)
    assert page.locator(ready).count() > 10
    assert foreign == [] and errors == []
