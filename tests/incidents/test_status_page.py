"""The public status page: what it shows, and — the security test — that internal notes,
internal updates, incident titles, private services and people never appear in /status, its
JSON or its Atom feed. The page renders without login and without JavaScript."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from tests.factories.catalog import SYSTEM
from tests.factories.monitoring import make_monitor
from tests.incidents.conftest import declare
from watchkeeper import clock
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents import settings
from watchkeeper.incidents.schemas import (
    IncidentCreate,
    NoteCreate,
    Role,
    RoleAssign,
    Status,
    StatusChange,
    StatusUpdate,
    Visibility,
)
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate

SECRETS = ("SECRET-NOTE", "INTERNAL-UPDATE", "ACME-CUSTOMER", "PrivateLedgerDown", "ledger", "quinn-internal", "xavier-internal",
           "alice", "bob", "payments", "LEDGER-ONLY-PUBLIC", "DRILL-PUBLIC", "nightly-db-upgrade", "internal comment")


@pytest.fixture
def status_world(session, world):
    root = world["root"].actor
    settings.put_setting(session, kind="settings", name="status_page", value={"title": "Example status", "services": ["checkout", "search"]},
                         actor=SYSTEM)
    for handle in ("quinn-internal", "xavier-internal"):
        teams.create_person(session, data=PersonCreate(handle=handle), actor=SYSTEM)
    inc = declare(session, world["alice"].actor, services=("checkout", "ledger"), severity="SEV2",
                  title="PrivateLedgerDown for ACME-CUSTOMER", impact="ACME-CUSTOMER cannot pay", commander="quinn-internal")
    incidents.assign_role(session, incident_id=inc.id, data=RoleAssign(role=Role.SCRIBE, person="xavier-internal"), actor=root)
    incidents.add_note(session, incident_id=inc.id, data=NoteCreate(text="SECRET-NOTE: the ledger password rotated"), actor=root)
    incidents.post_update(session, incident_id=inc.id, data=StatusUpdate(message="INTERNAL-UPDATE: ledger db down"), actor=root)
    clock.advance(dt.timedelta(minutes=5))
    incidents.post_update(session, incident_id=inc.id, data=StatusUpdate(
        message="We are investigating **failed card charges** at checkout.", visibility=Visibility.PUBLIC), actor=world["bob"].actor)
    incidents.change_status(session, incident_id=inc.id, data=StatusChange(
        status=Status.IDENTIFIED, message="A fix is being deployed.", visibility=Visibility.PUBLIC), actor=root)
    private = declare(session, root, services=("ledger",), title="ledger only")
    incidents.post_update(session, incident_id=private.id, data=StatusUpdate(message="LEDGER-ONLY-PUBLIC",
                                                                             visibility=Visibility.PUBLIC), actor=root)
    drill = incidents.declare(session, data=IncidentCreate(
        title="drill", services=["checkout"]), actor=root, drill=True)
    incidents.post_update(session, incident_id=drill.id, data=StatusUpdate(message="DRILL-PUBLIC", visibility=Visibility.PUBLIC),
                          actor=root)
    unpublished = declare(session, root, services=("search",), title="search internal only")
    maintenance.create_window(session, data=WindowCreate(name="nightly-db-upgrade", service="search", comment="internal comment",
                                                         starts_at=clock.utcnow() + dt.timedelta(days=2), duration="2h"), actor=root)
    session.commit()
    return inc, unpublished


def test_the_page_json_and_feed_never_show_internal_things(client, status_world):
    inc, _ = status_world
    html = client.get("/status")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    data = client.get("/api/v1/status")
    assert data.status_code == 200
    feed = client.get("/status/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    for name, body in (("html", html.text), ("json", data.text), ("atom", feed.text)):
        leaked = [s for s in SECRETS if s.lower() in body.lower()]
        assert not leaked, f"{name} shows {leaked}"
        assert "We are investigating" in body and "A fix is being deployed." in body, name
    assert "<script" not in html.text.lower()
    doc = data.json()
    assert doc["status"] == "partial_outage" and doc["title"] == "Example status"
    assert [(c["name"], c["status"]) for c in doc["components"]] == [("checkout", "partial_outage"), ("search", "operational")]
    [shown] = doc["incidents"]
    assert shown["id"] == inc.id and shown["name"] == "Partial outage: checkout" and shown["components"] == ["checkout"]
    assert [(u["status"], u["message"]) for u in shown["updates"]] == [
        ("identified", "A fix is being deployed."), ("investigating", "We are investigating **failed card charges** at checkout.")]
    assert set(shown["updates"][0]) == {"at", "status", "message", "html"}
    assert [m["components"] for m in doc["maintenance"]] == [["search"]]
    entries = ET.fromstring(feed.text).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 2
    assert "<strong>failed card charges</strong>" in html.text


def test_the_page_needs_no_login_and_renders_an_empty_installation(client, world):
    r = client.get("/status", follow_redirects=False)
    assert r.status_code == 200 and "No public components are configured." in r.text
    assert client.get("/api/v1/status").json()["status_label"] == "All systems operational"


def test_uptime_bars_come_from_monitor_results(session, world):
    from watchkeeper.incidents import statuspage

    settings.put_setting(session, kind="settings", name="status_page", value={"services": ["checkout"]}, actor=SYSTEM)
    from sqlalchemy import select

    from watchkeeper.monitoring.models import Location, Monitor
    from watchkeeper.monitoring.probes import results
    from watchkeeper.monitoring.probes.kinds import ProbeResult

    make_monitor(session, name="shop", service="checkout")
    m = session.execute(select(Monitor).where(Monitor.name == "shop")).scalar_one()
    loc = session.execute(select(Location).where(Location.monitor_id == m.id)).scalars().first()

    def feed(ok: bool):  # one check result at the (frozen) current time, as the probe runner records it
        now = clock.utcnow()
        results.record_results(session, [results.ResultIn(
            location_id=loc.id, monitor_id=m.id, monitor="shop", location=loc.location, slot_ms=clock.to_ms(now), checked_at=now,
            result=ProbeResult(ok=ok, latency_ms=10.0 if ok else None, error=None if ok else "refused"))], worker="test")
    clock.set_frozen(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC))
    for ok in (True, True, True, False):  # yesterday: 3 of 4 checks passed
        feed(ok)
        clock.advance(dt.timedelta(minutes=1))
    clock.set_frozen(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    feed(True)  # today: all passed
    [c] = statuspage.public_status(session).components
    assert len(c.days) == 90 and c.days[-1].date == dt.date(2026, 3, 2)
    assert (c.days[-2].uptime_percent, c.days[-1].uptime_percent, c.days[0].uptime_percent) == (75.0, 100.0, None)
    assert c.uptime_percent == 87.5
