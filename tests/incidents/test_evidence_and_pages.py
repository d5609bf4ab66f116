"""The readiness item `incident_process` (each missing part named), and the incident pages:
declare → update → resolve through the UI forms."""

from __future__ import annotations

import datetime as dt
import re

from tests.factories.catalog import SYSTEM
from watchkeeper import clock
from watchkeeper.catalog import service as catalog
from watchkeeper.evidence import Status as EvidenceStatus
from watchkeeper.incidents import evidence, settings
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import IncidentCreate, IncidentFilter


def _policy(session):
    from watchkeeper.oncall import policies
    from watchkeeper.oncall import service as oncall
    from watchkeeper.oncall.schemas import PolicyCreate, ScheduleCreate

    oncall.create_schedule(session, data=ScheduleCreate(name="pay", team="payments", layers=[
        {"name": "l1", "members": ["ann", "ben"], "start": "2026-01-01"}]), actor=SYSTEM)
    policies.create_policy(session, data=PolicyCreate(name="pay", team="payments", services=["checkout"],
                                                      levels=[{"targets": [{"kind": "schedule", "name": "pay"}]}]), actor=SYSTEM)


def _evidence(session):
    return evidence.incident_process(session, catalog.lookup_service(session, name="checkout"))


def test_incident_process_names_every_missing_part_then_passes(session, world):
    ev = _evidence(session)
    assert ev.status == EvidenceStatus.FAIL
    assert ev.reason == (
        "severities are not defined (incidents.severities in watchkeeper.yaml); "
        "no escalation path for SEV1/SEV2: no on-call escalation policy covers it (oncall.policies); "
        "no incident-process document: add a runbook with `kind: incident-process` naming the service "
        "(or attest a URL in incidents.process_document); "
        "no incident or drill on it in the last 90 days; run a game day: `watchkeeper incident drill checkout`")
    settings.put_setting(session, kind="severity", name="SEV2", value={"description": "Major", "page": True, "ack_within": "15m"},
                         actor=SYSTEM)
    _policy(session)
    settings.put_setting(session, kind="settings", name="process_document", value={
        "url": "https://wiki.example.com/incidents", "reviewed_at": "2026-02-01", "reviewed_by": "ann"}, actor=SYSTEM)
    drill = incidents.start_drill(session, service="checkout", actor=SYSTEM)
    clock.advance(dt.timedelta(minutes=20))
    incidents.acknowledge(session, incident_id=drill.id, actor=SYSTEM)
    ev = _evidence(session)
    assert ev.status == EvidenceStatus.FAIL and ev.reason == (
        f"no incident or drill on it in 90 days met its ack target (incident #{drill.id} was acknowledged after 20m, "
        "over the SEV2 target of 15m); run `watchkeeper incident drill checkout`")
    again = incidents.start_drill(session, service="checkout", actor=SYSTEM)
    clock.advance(dt.timedelta(minutes=4))
    incidents.acknowledge(session, incident_id=again.id, actor=SYSTEM)
    ev = _evidence(session)
    assert ev.status == EvidenceStatus.PASS and ev.link == f"/incidents/{again.id}"
    assert ev.reason == ("severities defined, escalation policy pay, process document https://wiki.example.com/incidents "
                         f"reviewed 2026-02-01, "
                         f"game day #{again.id} acknowledged within its SEV2 target")
    clock.advance(dt.timedelta(days=91))
    assert "no incident or drill on it in the last 90 days" in _evidence(session).reason


def test_the_readiness_engine_asks_the_provider(session, world, readiness_wiring):
    from watchkeeper.catalog.stages import Stage
    from watchkeeper.readiness import evaluation

    report = evaluation.get_report(session, service="checkout", stage=Stage.PROD, actor=world["root"].actor)
    [item] = [i for i in report.items if i.check == "incident_process"]
    assert item.reason.startswith("severities are not defined")


def _login(client, persona) -> str:
    r = client.post("/login", data={"username": persona.username, "password": persona.password, "next": "/incidents"},
                    follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/incidents").text).group(1)


def test_declare_update_and_resolve_through_the_pages(client, session, world):
    csrf = _login(client, world["alice"])
    refused = client.post("/incidents", data={"csrf_token": csrf, "title": "x", "services": "nope"})
    assert refused.status_code == 200 and "no service named &#39;nope&#39;" in refused.text
    r = client.post("/incidents", data={"csrf_token": csrf, "title": "Checkout errors", "services": "checkout", "severity": "SEV3",
                                        "impact": "Some **cards** fail"}, follow_redirects=False)
    assert r.status_code == 303
    incident_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/incidents/{incident_id}")
    assert page.status_code == 200 and "<strong>cards</strong>" in page.text and "Public (status page)" in page.text
    r = client.post(f"/incidents/{incident_id}/updates", data={"csrf_token": csrf, "message": "We found it <script>x</script>",
                                                              "visibility": "public", "status": "identified"},
                    follow_redirects=False)
    assert r.status_code == 303
    bad = client.post(f"/incidents/{incident_id}/updates", data={"csrf_token": csrf, "message": "", "status": "triggered"})
    assert "cannot go back to triggered" in bad.text
    client.post(f"/incidents/{incident_id}/notes", data={"csrf_token": csrf, "text": "internal only"})
    client.post(f"/incidents/{incident_id}/updates", data={"csrf_token": csrf, "message": "Fixed", "visibility": "internal",
                                                          "status": "resolved"})
    page = client.get(f"/incidents/{incident_id}").text
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    [inc] = incidents.list_incidents(session, filter=IncidentFilter(status="all"), actor=SYSTEM)
    assert inc.status.value == "resolved"
    assert "Checkout errors" in client.get("/incidents?status=closed").text
    assert client.post(f"/incidents/{incident_id}/notes", data={"text": "no csrf"}).status_code in (400, 403)


def test_the_postmortem_editor_previews_saves_publishes_and_tracks_items(client, session, world):
    csrf = _login(client, world["alice"])
    inc = incidents.declare(session, data=IncidentCreate(
        title="Checkout errors", services=["checkout"], severity="SEV2"), actor=world["alice"].actor)
    session.commit()
    page = client.get(f"/incidents/{inc.id}/postmortem").text
    assert "Start the postmortem" in page
    client.post(f"/incidents/{inc.id}/postmortem/start", data={"csrf_token": csrf})
    preview = client.post(f"/incidents/{inc.id}/postmortem", data={"csrf_token": csrf, "root_cause": "A **bad** push",
                                                                    "action": "preview"})
    assert "Preview (not saved)" in preview.text and "<strong>bad</strong>" in preview.text
    assert "A **bad** push" not in client.get(f"/incidents/{inc.id}/postmortem").text  # preview saved nothing
    refused = client.post(f"/incidents/{inc.id}/postmortem", data={"csrf_token": csrf, "root_cause": "A **bad** push",
                                                                    "action": "publish"})
    assert "resolve it before publishing its postmortem" in refused.text and "A **bad** push" in refused.text
    client.post(f"/incidents/{inc.id}/action-items", data={"csrf_token": csrf, "title": "Validate config", "owner": "ann"})
    from watchkeeper.incidents import postmortems

    [item] = postmortems.get_postmortem(session, incident_id=inc.id, actor=SYSTEM).action_items
    client.post(f"/incidents/{inc.id}/action-items/{item.id}", data={"csrf_token": csrf, "status": "done", "change_ref": "deploy:9"})
    incidents.resolve(session, incident_id=inc.id, actor=world["alice"].actor)
    session.commit()
    r = client.post(f"/incidents/{inc.id}/postmortem", data={"csrf_token": csrf, "root_cause": "A bad push", "action": "publish"},
                    follow_redirects=False)
    assert r.status_code == 303
    pm = postmortems.get_postmortem(session, incident_id=inc.id, actor=SYSTEM)
    assert (pm.status, pm.root_cause, pm.action_items[0].change_ref) == ("published", "A bad push", "deploy:9")
    review = client.get("/incidents/review", params={"timezone": "Europe/Berlin"})
    assert review.status_code == 200 and "Checkout errors" in review.text and "(Europe/Berlin)" in review.text


def test_an_incident_process_runbook_is_the_document(session, world, tmp_path):
    """The runbooks domain's port answers first: a runbook of kind incident-process naming the
    service, judged by its review; a stale one is named with the runbooks domain's reason."""
    from tests.factories.world import runbooks_config
    from watchkeeper.runbooks import service as runbooks

    def write(date):
        (tmp_path / "process.md").write_text(
            "---\ntitle: How we run incidents\nservices: [checkout]\nkind: incident-process\n"
            f"last_reviewed: {{date: {date}, by: ann}}\n---\n# Incidents\n\nDeclare, page, fix, write up.\n", encoding="utf-8")
        runbooks.sync(session, actor=SYSTEM, strict=True)

    runbooks.configure(session, data=runbooks_config(str(tmp_path)), actor=SYSTEM)
    write("2026-02-20")
    ev = _evidence(session)
    assert "incident-process" not in ev.reason and ev.details["process_document"] == "process.md reviewed 2026-02-20"
    write("2025-01-02")
    reason = _evidence(session).reason
    assert "the incident-process runbook process.md does not count: " in reason, reason
