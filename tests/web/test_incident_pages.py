"""Playwright on Debian's Chromium: declare → update → resolve through the incident pages, and
the public status page at 1366 and 390 px (no login, no JavaScript, no sideways scrolling).
Screenshots go to $WATCHKEEPER_SCREENSHOTS (docs/screenshots/ when refreshing the docs)."""

from __future__ import annotations

import os
from pathlib import Path


def _shot(page, name: str, tmp_path: Path) -> None:
    target = Path(os.environ.get("WATCHKEEPER_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


def _login(page, base):
    page.goto(f"{base}/incidents")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")


def test_declare_update_resolve_and_the_status_page(live_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    _login(page, live_server)
    assert page.url.endswith("/incidents")
    page.fill("input[name=title]", "Demo shop checkout fails")
    page.fill("input[name=services]", "demo")
    page.select_option("select[name=severity]", "SEV2")
    page.fill("textarea[name=impact]", "Some **orders** fail at checkout")
    page.click("button:has-text('Declare')")
    assert page.locator("h1").inner_text().startswith("#")
    incident_url = page.url
    page.fill("textarea[name=message]", "We are looking into **failed orders**.")
    page.check("input[name=visibility][value=public]")
    page.click("button:has-text('Post update')")
    page.fill("textarea[name=text]", "internal: suspect the new payment client")
    page.click("button:has-text('Add note')")
    page.fill("textarea[name=message]", "A fix is deployed; we are watching it.")
    page.check("input[name=visibility][value=public]")
    page.select_option("select[name=status]", "monitoring")
    page.click("button:has-text('Post update')")
    assert page.locator("h1 >> text=monitoring").count() == 1
    _shot(page, "incident", tmp_path)

    status = browser.new_page(viewport={"width": 1366, "height": 900}, java_script_enabled=False)
    status.goto(f"{live_server}/status")
    assert status.locator("h2 >> text=Partial outage: Demo shop").count() == 1
    assert status.locator("text=A fix is deployed").count() == 1
    assert status.locator("text=suspect the new payment client").count() == 0
    _shot(status, "status-page-1366", tmp_path)
    phone = browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    phone.goto(f"{live_server}/status")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(phone, "status-page-390", tmp_path)

    page.goto(incident_url)
    page.select_option("select[name=status]", "resolved")
    page.fill("textarea[name=message]", "Resolved.")
    page.check("input[name=visibility][value=public]")
    page.click("button:has-text('Post update')")
    assert page.locator("h1 >> text=resolved").count() == 1
    page.goto(f"{live_server}/incidents?status=closed")
    assert page.locator("a:text-is('Demo shop checkout fails')").count() == 1
    _shot(page, "incidents", tmp_path)
    status.goto(f"{live_server}/status")
    assert status.locator("text=Past incidents").count() == 1 and status.locator(".overall").inner_text() == "All systems operational"
