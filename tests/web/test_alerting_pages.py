"""The alert pipeline's pages in Chromium: alerts with suppression reasons, an alert's history
and acknowledgement, silences and maintenance windows created through the forms."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _shot(page, name: str, tmp_path: Path) -> None:
    target = Path(os.environ.get("WATCHKEEPER_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


@pytest.fixture
def seeded(live_server, fresh_url, tmp_path):
    from tests.factories.alerting import alert, configure, ingest
    from tests.factories.catalog import make_service
    from watchkeeper.app import build
    from watchkeeper.config import Settings

    container = build(Settings(database_url=fresh_url, data_dir=tmp_path / "seed"))
    with container.session() as s:
        make_service(s, name="db-primary", team="payments")
        make_service(s, name="pay-api", team="payments", depends_on=["db-primary"])
        configure(s, receivers=[{"name": "ops", "channels": [{"type": "email", "to": ["ops@example.com"]}]}],
                  route={"receiver": "ops", "group_wait": "1s"})
        ingest(s, alert("DatabaseDown", service="db-primary", severity="critical", annotations={"summary": "primary is unreachable"}),
               alert("HighErrorRate", service="pay-api", severity="critical", annotations={"summary": "5xx above 5%"}))
        from watchkeeper.alerting import service as alerting

        from sqlalchemy import select

        from watchkeeper.alerting.models import AlertGroup

        for gid in s.execute(select(AlertGroup.id)).scalars().all():  # evaluate inhibition now
            alerting.flush_group(s, group_id=gid, settings=container.settings, force=True)
        s.commit()
    container.dispose()
    return live_server


def _login(page, base):
    page.goto(f"{base}/alerts?status=firing")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")


def test_alerts_list_detail_ack_silence_and_maintenance(seeded, browser, tmp_path):
    page = browser.new_page()
    _login(page, seeded)
    assert page.url.endswith("/alerts?status=firing")
    assert page.locator("a:text-is('DatabaseDown')").count() == 1
    assert page.locator("text=inhibited by DatabaseDown on db-primary (a dependency of pay-api)").count() == 1
    _shot(page, "alerts", tmp_path)

    page.click("a:text-is('HighErrorRate')")
    assert page.locator("h1").inner_text().startswith("HighErrorRate")
    assert page.locator("td >> text=inhibited").count() >= 1  # the history row
    page.fill("input[name=note]", "looking at it")
    page.click("button:has-text('Acknowledge')")
    assert page.locator("dd >> text=erin at").count() == 1
    assert page.locator("td >> text=acked").count() == 1
    _shot(page, "alert", tmp_path)

    page.goto(f"{seeded}/silences")
    page.fill("input[name=matchers]", 'service="pay-api"')
    page.fill("input[name=comment]", "failover drill")
    page.click("button:has-text('Silence')")
    assert page.locator("code >> text=service=\"pay-api\"").count() == 1
    page.fill("input[name=matchers]", 'service=="broken')
    page.fill("input[name=comment]", "typo")
    page.click("button:has-text('Silence')")
    assert "unbalanced quote" in page.locator(".flash.error").inner_text()
    _shot(page, "silences", tmp_path)

    page.goto(f"{seeded}/maintenance")
    page.fill("input[name=name]", "sunday-patching")
    page.fill("input[name=service]", "pay-api")
    page.fill("input[name=duration]", "2h")
    page.fill("input[name=rrule]", "FREQ=WEEKLY;BYDAY=SU")
    page.click("button:has-text('Schedule')")
    assert page.locator("td >> text=sunday-patching").count() == 1
    page.fill("input[name=name]", "bad")
    page.fill("input[name=service]", "pay-api")
    page.fill("input[name=cron]", "whenever")
    page.click("button:has-text('Schedule')")
    assert "five fields" in page.locator(".flash.error").inner_text()
    _shot(page, "maintenance", tmp_path)
