"""The overview (`/`) and the service hub show every domain's panels, worst first, filtered by
the viewer's scope (issue 11 items 1 and 2)."""

from __future__ import annotations

import re

from tests.factories.alerting import ingest
from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper.alerting.schemas import AlertIn
from watchkeeper.web import panels as web_panels
from watchkeeper.panels import Panel, PanelItem


def _login(client, personas, who: str = "root") -> None:
    r = client.post("/login", data={"username": who, "password": personas[who].password, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303


def _panel(html: str, key: str) -> str:
    match = re.search(rf'<section class="card panel tone-(\w+)" id="panel-{key}".*?</section>', html, re.S)
    assert match, f"no {key} panel on the page"
    return match.group(0)


def _seed(session):
    make_service(session, name="checkout", team="payments", depends_on=[])
    make_service(session, name="search-api", team="search")
    ingest(session, AlertIn(labels={"alertname": "CheckoutDown", "service": "checkout", "severity": "critical"}),
           AlertIn(labels={"alertname": "SlowQueries", "service": "checkout", "severity": "warning"}),
           AlertIn(labels={"alertname": "IndexLag", "service": "search-api", "severity": "warning"}))
    session.commit()


def test_the_overview_lists_firing_alerts_critical_first(session, client, personas):
    _seed(session)
    _login(client, personas)
    page = client.get("/")
    assert page.status_code == 200
    alerts = _panel(page.text, "alerts")
    assert "tone-bad" in alerts.split(">", 1)[0]
    names = re.findall(r'<a href="/alerts/\d+">([^<]+)</a>', alerts)
    assert names[0] == "CheckoutDown on checkout"
    assert sorted(names[1:]) == ["IndexLag on search-api", "SlowQueries on checkout"]
    assert "3 firing, 1 critical" in alerts
    assert "Something is broken" in page.text
    assert 'hx-get="/overview/panels"' in page.text and "as of" in page.text


def test_the_refresh_fragment_is_the_panels_alone(session, client, personas):
    _seed(session)
    _login(client, personas)
    fragment = client.get("/overview/panels")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="overview"') and "<html" not in fragment.text
    assert "CheckoutDown on checkout" in fragment.text


def test_a_scoped_viewer_sees_only_their_teams_alerts(session, client, personas):
    _seed(session)
    _login(client, personas, "bob")  # responder for payments only
    alerts = _panel(client.get("/").text, "alerts")
    assert "CheckoutDown on checkout" in alerts
    assert "IndexLag" not in alerts


def test_when_nothing_is_wrong_the_page_says_all_clear(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    _login(client, personas)
    page = client.get("/").text
    assert "No alert is firing." in _panel(page, "alerts")
    assert "Something is broken" not in page


def test_the_service_hub_shows_its_alerts_monitors_and_dependencies(session, client, personas):
    make_service(session, name="db", team="payments")
    make_service(session, name="checkout", team="payments", depends_on=["db"])
    make_monitor(session, name="checkout-home", service="checkout")
    ingest(session, AlertIn(labels={"alertname": "CheckoutDown", "service": "checkout", "severity": "critical"}),
           AlertIn(labels={"alertname": "DbSlow", "service": "db", "severity": "warning"}))
    session.commit()
    _login(client, personas)
    page = client.get("/services/checkout").text
    alerts = _panel(page, "alerts")
    assert "CheckoutDown" in alerts and "DbSlow" not in alerts
    assert "checkout-home" in _panel(page, "monitors")
    deps = _panel(page, "dependencies")
    assert 'href="/services/db"' in deps and "depends on db" in deps
    assert "service.create" in _panel(page, "changes")  # root may read the audit log


def test_the_audit_panel_is_absent_for_someone_who_may_not_read_the_log(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    _login(client, personas, "alice")
    page = client.get("/services/checkout").text
    assert 'id="panel-changes"' not in page
    assert 'id="panel-alerts"' in page


def test_a_failing_panel_shows_its_error_and_the_rest_of_the_page_renders(session, personas, monkeypatch):
    def broken(session, *, actor):
        raise RuntimeError("boom")

    def fine(session, *, actor):
        return Panel.of("fine", "Fine", [PanelItem("x", tone="warn")], summary="1", empty="")

    monkeypatch.setattr(web_panels.domains, "panels", lambda where: [("broken", broken), ("fine", fine)])
    found = web_panels.collect("overview", session, actor=None)
    assert [p.key for p in found] == ["broken", "fine"]
    assert found[0].summary == "could not load" and "server log" in found[0].empty
    assert web_panels.headline(found) == ("warn", "Needs attention")
