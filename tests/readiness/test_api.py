"""The readiness, sign-off and audit-suite API through the real ASGI app: permissions, the
canonical error shape, and the audit events mutations leave."""

from __future__ import annotations

from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from tests.factories.catalog import make_service
from tests.factories.readiness import make_role
from tests.factories.auth import SYSTEM as AUDIT_READER  # the audit log is for admins and auditors

API = "/api/v1"


def _shape(body):
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}


def test_readiness_report_and_scorecard(client, personas, session):
    make_service(session, name="checkout", stage="MMP")
    session.commit()
    alice = personas["alice"].headers
    r = client.get(f"{API}/services/checkout/readiness", params={"stage": "PROD"}, headers=alice)
    assert r.status_code == 200
    body = r.json()
    assert body["stage"] == "PROD" and body["ready"] is False and len(body["items"]) == 11
    assert client.get(f"{API}/services/checkout/readiness", headers=alice).json()["stage"] == "MMP"
    card = client.get(f"{API}/readiness/scorecard", params={"stage": "PROD"}, headers=alice).json()
    assert [row["service"] for row in card["rows"]] == ["checkout"]
    assert card["rows"][0]["cells"]["refine_signoff"]["word"] == "fail"
    assert client.get(f"{API}/services/checkout/readiness", headers=personas["carol"].headers).status_code == 403
    missing = client.get(f"{API}/services/nope/readiness", headers=alice)
    assert missing.status_code == 404 and "no service named 'nope'" in missing.json()["error"]["message"]
    bad = client.get(f"{API}/services/checkout/readiness", params={"stage": "GA"}, headers=alice)
    assert bad.status_code == 422
    _shape(bad.json())
    policy = client.get(f"{API}/readiness/policies/MVP", params={"tier": 1}, headers=alice).json()
    assert [i["check"] for i in policy["items"]] == ["real_persistence", "authentication", "happy_path_tested", "error_handling"]


def test_waivers_over_the_api(client, personas, session):
    make_service(session, name="checkout")
    session.commit()
    body = {"check": "dr_plan", "reason": "DR plan in review with SRE", "expires_in": "14d"}
    assert client.post(f"{API}/services/checkout/waivers", json=body, headers=personas["bob"].headers).status_code == 403
    r = client.post(f"{API}/services/checkout/waivers", json=body, headers=personas["alice"].headers)
    assert r.status_code == 201 and r.json()["granted_by"] == "alice" and r.json()["active"]
    waiver_id = r.json()["id"]
    item = next(i for i in client.get(f"{API}/services/checkout/readiness?stage=PROD", headers=personas["bob"].headers).json()["items"]
                if i["check"] == "dr_plan")
    assert item["word"] == "waived" and item["waiver"]["reason"] == "DR plan in review with SRE"
    r = client.post(f"{API}/services/checkout/waivers", json={**body, "expires_in": None}, headers=personas["alice"].headers)
    assert r.status_code == 422 and "exactly one of expires_at" in r.json()["error"]["message"]
    r = client.post(f"{API}/services/checkout/waivers/{waiver_id}/revoke", json={"reason": "plan approved"},
                    headers=personas["alice"].headers)
    assert r.status_code == 200 and not r.json()["active"]
    assert [w["id"] for w in client.get(f"{API}/services/checkout/waivers", headers=personas["alice"].headers).json()] == [waiver_id]
    assert client.post(f"{API}/services/checkout/waivers/999999/revoke", json={"reason": "x y z"},
                       headers=personas["alice"].headers).status_code == 404


def test_attestations_and_signoffs_over_the_api(client, personas, session):
    from watchkeeper.auth.service import Actor
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import PersonCreate

    make_service(session, name="checkout", stage="POC")
    teams.create_person(session, data=PersonCreate(handle="alice"), actor=Actor.system("t", "system"))
    make_role(session, "product-owner")
    session.commit()
    r = client.post(f"{API}/services/checkout/attestations", headers=personas["alice"].headers,
                    json={"check": "authentication", "link": "https://wiki.example/auth", "expires_in": "90d"})
    assert r.status_code == 201 and r.json()["attested_by"] == "alice"
    r = client.post(f"{API}/services/checkout/signoffs", headers=personas["bob"].headers,
                    json={"checkpoint": "refine", "role": "product-owner", "note": "risks accepted"})
    assert r.status_code == 201 and r.json()["signer"] == "bob"
    signoff_id = r.json()["id"]
    roles = client.get(f"{API}/stakeholder-roles", headers=personas["bob"].headers).json()
    assert roles[0]["name"] == "product-owner" and roles[0]["required_for"] == ["refine"]
    r = client.post(f"{API}/services/checkout/signoffs", headers=personas["bob"].headers,
                    json={"checkpoint": "refine", "role": "cfo", "note": "x y z"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "role"
    r = client.post(f"{API}/services/checkout/signoffs/{signoff_id}/revoke", headers=personas["bob"].headers,
                    json={"reason": "scope changed"})
    assert r.status_code == 200 and r.json()["revoked_by"] == "bob"
    listed = client.get(f"{API}/services/checkout/signoffs", headers=personas["audrey"].headers).json()
    assert listed[0]["revoke_reason"] == "scope changed"


def test_external_tools_post_audit_results(client, personas, session):
    make_service(session, name="checkout")
    session.commit()
    result = {"tool": "pip-audit", "level": "complete", "link": "https://ci.example/job/1",
              "findings": [{"rule": "PYSEC-2024-1", "title": "urllib3 CVE", "severity": "high"}]}
    r = client.post(f"{API}/services/checkout/audits/security/results", json=result, headers=personas["alice"].headers)
    assert r.status_code == 201 and r.json()["findings"][0]["severity"] == "high"
    finding_id = r.json()["findings"][0]["id"]
    audits = client.get(f"{API}/services/checkout/audits", headers=personas["bob"].headers).json()
    security = next(s for s in audits["suites"] if s["suite"] == "security")
    assert security["passed_level"] is None and security["open_findings"][0]["id"] == finding_id
    r = client.post(f"{API}/services/checkout/audits/safety/results", json=result, headers=personas["alice"].headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "suite"
    r = client.post(f"{API}/services/checkout/audits/security/results", json={**result, "level": "gold"}, headers=personas["alice"].headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "level"
    assert client.post(f"{API}/services/checkout/audits/security/results", json=result,
                       headers=personas["carol"].headers).status_code == 403
    r = client.post(f"{API}/services/checkout/audit-findings/{finding_id}/resolve", json={"reason": "upgraded urllib3"},
                    headers=personas["alice"].headers)
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    runs = client.get(f"{API}/services/checkout/audits/security/results", headers=personas["alice"].headers).json()
    assert runs[0]["tool"] == "pip-audit" and runs[0]["link"] == "https://ci.example/job/1"
    r = client.post(f"{API}/services/checkout/audits/security/run", headers=personas["alice"].headers)
    assert r.status_code == 422 and "no public_url" in r.json()["error"]["message"]


def test_every_readiness_mutation_over_the_api_is_audited(client, personas, session):
    make_service(session, name="checkout")
    make_role(session, "product-owner")
    session.commit()
    h = personas["alice"].headers
    client.post(f"{API}/services/checkout/waivers", json={"check": "dr_plan", "reason": "plan is being written", "expires_in": "7d"}, headers=h)
    client.post(f"{API}/services/checkout/signoffs", json={"checkpoint": "refine", "role": "product-owner", "note": "ok then"}, headers=h)
    client.post(f"{API}/services/checkout/audits/accessibility/results", json={"tool": "axe", "level": "basic"}, headers=h)
    actions = {e.action for e in audit.list_events(session, filter=AuditFilter(actor="alice", target="service:checkout"), actor=AUDIT_READER)}
    assert {"readiness.waive", "signoff.create", "assessment.post"} <= actions


def test_refresh_over_the_api_needs_a_global_grant(client, personas, session):
    make_service(session, name="checkout")
    session.commit()
    assert client.post(f"{API}/readiness/refresh", json={}, headers=personas["alice"].headers).status_code == 403
    r = client.post(f"{API}/readiness/refresh", json={"services": ["checkout"]}, headers=personas["root"].headers)
    assert r.status_code == 200 and r.json()["evaluated"] == 1 and r.json()["changed_items"] > 0
