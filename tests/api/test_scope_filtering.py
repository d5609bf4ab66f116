"""Issue 9, item 7: a scoped user sees only their teams' data. The audit log is for admins and
auditors; alert groups and the alert-quality report count only what the caller may see.
Through the HTTP API (and the /audit page), on both stores."""

from __future__ import annotations

import pytest

from tests.factories.alerting import alert, configure, ingest
from tests.factories.auth import make_persona
from tests.factories.catalog import make_service


@pytest.fixture
def two_teams(session, personas):
    """payments owns checkout, search owns finder; each fired an alert (grouped), and the team
    changes are in the audit log. sam responds for the service finder only."""
    make_service(session, name="checkout", team="payments")
    make_service(session, name="finder", team="search")
    configure(session, receivers=[{"name": "ops", "channels": [{"type": "email", "to": ["ops@example.com"]}]}],
              route={"receiver": "ops", "group_by": ["service"], "group_wait": "1m"})
    ingest(session, alert("CheckoutDown", service="checkout"), alert("FinderSlow", service="finder"))
    people = dict(personas)
    people["sam"] = make_persona(session, "sam", ["responder@service:finder"])
    people["vic"] = make_persona(session, "vic", ["viewer"])
    people["tess"] = make_persona(session, "tess", ["auditor@team:search"])
    session.commit()
    return people


@pytest.mark.parametrize("who", ["bob", "sam", "alice", "vic", "carol", "tess"])
def test_only_admins_and_auditors_read_the_audit_log(client, two_teams, who):
    r = client.get("/api/v1/audit/events", headers=two_teams[who].headers)
    assert r.status_code == 403, r.text
    assert "auditor" in r.json()["error"]["message"]


@pytest.mark.parametrize("who", ["root", "audrey"])
def test_admins_and_global_auditors_read_it(client, two_teams, who):
    r = client.get("/api/v1/audit/events", headers=two_teams[who].headers)
    assert r.status_code == 200 and len(r.json()) > 0


def test_the_audit_page_is_refused_and_hidden_from_a_responder(client, two_teams):
    sam = two_teams["sam"]
    client.post("/login", data={"username": "sam", "password": sam.password})
    assert client.get("/audit").status_code == 403
    assert 'href="/audit"' not in client.get("/services").text
    client.cookies.clear()
    client.post("/login", data={"username": "audrey", "password": two_teams["audrey"].password})
    page = client.get("/audit")
    assert page.status_code == 200 and 'href="/audit"' in page.text


def test_alert_groups_are_filtered_by_scope(client, two_teams):
    def services(who):
        r = client.get("/api/v1/alert-groups", params={"all": "true"}, headers=two_teams[who].headers)
        assert r.status_code == 200, r.text
        return sorted(g["service"] for g in r.json())

    assert services("root") == ["checkout", "finder"]
    assert services("sam") == ["finder"]
    assert services("bob") == ["checkout"]
    assert services("vic") == ["checkout", "finder"]


def test_alert_quality_counts_only_visible_services(client, two_teams):
    def names(who, **params):
        r = client.get("/api/v1/alert-quality", params=params, headers=two_teams[who].headers)
        assert r.status_code == 200, r.text
        return sorted(row["alertname"] for row in r.json())

    assert names("root") == ["CheckoutDown", "FinderSlow"]
    assert names("sam") == ["FinderSlow"]
    assert names("bob") == ["CheckoutDown"]
    assert names("sam", service="checkout") == []
    assert client.get("/api/v1/alert-quality", headers=two_teams["carol"].headers).status_code == 403


def test_alert_rules_and_slos_are_listed_by_scope(client, session, two_teams):
    from watchkeeper.monitoring.metrics import rules
    from watchkeeper.monitoring.metrics.schemas import RuleCreate
    from watchkeeper.monitoring.slos import service as slos
    from watchkeeper.monitoring.slos.schemas import SloCreate

    from tests.factories.auth import SYSTEM

    for svc in ("checkout", "finder"):
        rules.create_rule(session, data=RuleCreate(name=f"{svc}-slow", expr="last(kpi[5m]) > 1", service=svc), actor=SYSTEM)
        slos.create_slo(session, data=SloCreate(name=f"{svc}-ok", service=svc, target=99.0, good="g", total="t"), actor=SYSTEM)
    rules.create_rule(session, data=RuleCreate(name="global", expr="last(kpi[5m]) > 1"), actor=SYSTEM)
    session.commit()

    def names(who, path):
        r = client.get(path, headers=two_teams[who].headers)
        assert r.status_code == 200, r.text
        return sorted(x["name"] for x in r.json())

    assert names("root", "/api/v1/alert-rules") == ["checkout-slow", "finder-slow", "global"]
    assert names("sam", "/api/v1/alert-rules") == ["finder-slow", "global"]
    assert names("bob", "/api/v1/alert-rules") == ["checkout-slow", "global"]
    assert names("vic", "/api/v1/slos") == ["checkout-ok", "finder-ok"]
    assert names("sam", "/api/v1/slos") == ["finder-ok"]
