"""A responder opens the runbook from an alert page, runs a step after confirming it, and sees
its output appear (htmx polls the run until a worker has finished it). Screenshots go to
$WATCHKEEPER_SCREENSHOTS (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import re

import pytest

from watchkeeper.auth.service import Actor
from watchkeeper.db.engine import make_engine, make_session_factory
from watchkeeper.egress import Egress

from tests.web.test_browser import _shot

pytestmark = pytest.mark.slow


def test_open_a_runbook_from_an_alert_and_run_a_step(live_server, browser, fresh_url, tmp_path, backend):
    from watchkeeper.alerting import service as alerting
    from watchkeeper.alerting.schemas import AlertFilter, AlertIn
    from watchkeeper.runbooks import steps

    engine = make_engine(fresh_url)
    factory = make_session_factory(engine)
    system = Actor.system("test", "system")
    with factory() as s:
        alerting.ingest(s, alerts=[AlertIn(labels={"alertname": "MonitorDown", "monitor": "watchkeeper-health",
                                                   "service": "watchkeeper"})], source="api", actor=system)
        s.commit()
        alert = alerting.list_alerts(s, filter=AlertFilter(), actor=system)[0]

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(services|$)"))

    page.goto(f"{live_server}/alerts/{alert.id}")
    link = page.locator("section.runbooks a", has_text="Watchkeeper is down, slow")
    assert link.count() == 1
    _shot(page, f"runbook-alert-{backend}", tmp_path)
    link.click()
    page.wait_for_url(re.compile(r".*/runbooks/view\?path=watchkeeper-slow\.md"))
    assert "curl -sS -m 5" in page.inner_text("article.markdown")
    page.click("#step-health summary")
    _shot(page, f"runbook-page-{backend}", tmp_path)
    button = page.locator("#step-health button[type=submit]")
    button.click()  # not confirmed: the browser's required checkbox stops the form
    assert "/runbooks/view" in page.url
    page.check("#step-health input[name=confirm]")
    button.click()
    page.wait_for_url(re.compile(r".*/runbooks/runs/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("[data-status=queued]").count() == 1

    done = steps.execute(factory, run_id=run_id, egress=Egress.of())  # the worker's job, here
    assert done.status in ("succeeded", "failed") and done.output
    page.wait_for_selector("[data-status=succeeded], [data-status=failed]", timeout=10_000)
    shown = page.inner_text("#run-output")
    assert done.output.splitlines()[0][:40] in shown and "exit" in shown
    _shot(page, f"runbook-run-{backend}", tmp_path)
    engine.dispose()
