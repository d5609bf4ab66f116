"""Readiness pages: the scorecard grid (colour and status word), a service's readiness page
with evidence and history, and the waiver and sign-off forms (CSRF-protected)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.factories.catalog import make_service
from tests.factories.readiness import make_role

SHOTS = Path(os.environ["WATCHKEEPER_SCREENSHOTS"]) if os.environ.get("WATCHKEEPER_SCREENSHOTS") else None


def _login(client, persona):
    r = client.post("/login", data={"username": persona.username, "password": persona.password}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/readiness")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    return (found.group(1) if found else None), page


def test_scorecard_shows_a_word_in_every_cell(client, personas, session):
    make_service(session, name="checkout", stage="MMP")
    session.commit()
    _, page = _login(client, personas["alice"])
    assert page.status_code == 200
    assert 'class="rd rd-fail">FAIL</span>' in page.text and 'class="rd rd-not-ready">NOT READY</span>' in page.text
    assert page.text.count('href="/services/checkout/readiness?stage=PROD"') == 1


def test_forms_need_the_csrf_token_and_show_errors_next_to_the_form(client, personas, session):
    make_service(session, name="checkout", stage="MMP")
    make_role(session, "product-owner")
    session.commit()
    csrf, _ = _login(client, personas["alice"])
    page = client.get("/services/checkout/readiness?stage=PROD")
    assert page.status_code == 200 and "Refine checkpoint signed off" in page.text
    r = client.post("/services/checkout/readiness/waivers", data={"check": "dr_plan", "reason": "plan in review by SRE"},
                    follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/services/checkout/readiness/waivers",
                    data={"csrf_token": csrf, "check": "dr_plan", "reason": "short", "stage": "PROD"}, follow_redirects=False)
    assert r.status_code == 422 and 'class="field-error"' in r.text and "at least 10 characters" in r.text
    r = client.post("/services/checkout/readiness/waivers", follow_redirects=False,
                    data={"csrf_token": csrf, "check": "dr_plan", "reason": "plan in review by SRE", "expires_in": "14d", "stage": "PROD"})
    assert r.status_code == 303 and r.headers["location"].startswith("/services/checkout/readiness?stage=PROD")
    page = client.get("/services/checkout/readiness?stage=PROD").text
    assert "Waived by <strong>alice</strong>" in page
    r = client.post("/services/checkout/signoffs", follow_redirects=False,
                    data={"csrf_token": csrf, "checkpoint": "refine", "role": "product-owner", "note": "risks accepted", "stage": "PROD"})
    assert r.status_code == 303
    page = client.get("/services/checkout/readiness?stage=PROD").text
    assert "risks accepted" in page and "refine signed off by alice (product-owner)" in page


def test_outsiders_get_a_page_not_a_traceback(client, personas, session):
    make_service(session, name="checkout")
    session.commit()
    _login(client, personas["carol"])
    r = client.get("/services/checkout/readiness")
    assert r.status_code == 403 and "may not service.read" in r.text


@pytest.mark.slow
def test_scorecard_and_service_page_in_chromium(live_server, browser, tmp_path, backend):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{live_server}/login?next=/readiness")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/readiness")
    cells = page.locator("table.scorecard tbody tr").first.locator("span.rd")
    words = {cells.nth(i).inner_text() for i in range(cells.count())}
    assert words <= {"PASS", "WARN", "FAIL", "UNKNOWN", "WAIVED", "NOT READY", "READY", "READY WITH WARNINGS"} and "FAIL" in words
    colour = page.locator("span.rd-fail").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(253, 232, 230)"
    page.screenshot(path=str((SHOTS or tmp_path) / f"readiness-scorecard-{backend}.png"), full_page=True)
    page.click("a[href='/services/demo/readiness?stage=PROD']")
    page.wait_for_url(re.compile(r".*/services/demo/readiness\?stage=PROD"))
    assert page.locator("#items tbody tr").count() == 11
    page.select_option("form[action$='/readiness/waivers'] select[name=check]", "dr_plan")
    page.fill("form[action$='/readiness/waivers'] textarea[name=reason]", "DR plan is being written this sprint")
    page.click("form[action$='/readiness/waivers'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/services/demo/readiness\?stage=PROD.*"))
    assert page.locator("#item-dr_plan span.rd").first.inner_text() == "WAIVED"
    shot = (SHOTS or tmp_path) / f"readiness-service-{backend}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
