"""The runbooks pages: index with lint findings, a document rendered inert with its review
status and step forms, a refused run shown on the page, a confirmed run's output page."""

from __future__ import annotations

import re

import pytest

from watchkeeper import app as wk_app

from tests.factories.catalog import make_service
from tests.runbooks.helpers import configure, front

BODY = """# Checkout

<script>alert("x")</script> [bad](javascript:alert(1)) [good](other.md)

```sh {step=hello}
echo hello from the step
```
"""


@pytest.fixture
def signed_in(session, client, personas, tmp_path):
    make_service(session, name="checkout", team="payments")
    session.commit()
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "checkout.md").write_text(front(body=BODY, alerts=["CheckoutDown"]))
    configure(session, tmp_path / "rb", runners=[{"name": "sh", "kind": "shell"}])
    session.commit()
    r = client.post("/login", data={"username": "alice", "password": personas["alice"].password, "next": "/runbooks"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/runbooks/view", params={"path": "checkout.md"})
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_index_and_document(client, signed_in):
    index = client.get("/runbooks")
    assert index.status_code == 200
    assert "checkout.md" in index.text and "never_reviewed" in index.text and "broken_link" in index.text
    page = client.get("/runbooks/view", params={"path": "checkout.md"})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert 'href="javascript' not in page.text.lower() and 'href="/runbooks/view?path=other.md"' in page.text
    assert "echo hello from the step" in page.text and 'name="confirm" value="yes" required' in page.text
    assert client.get("/runbooks/view", params={"path": "nope.md"}).status_code == 404


def test_a_step_runs_only_when_confirmed_and_its_output_is_shown(client, signed_in, container):
    refused = client.post("/runbooks/run", data={"csrf_token": signed_in, "path": "checkout.md", "step": "hello"},
                          follow_redirects=False)
    assert refused.status_code == 200 and "needs explicit confirmation" in refused.text
    done = client.post("/runbooks/run", data={"csrf_token": signed_in, "path": "checkout.md", "step": "hello", "confirm": "yes"},
                       follow_redirects=False)
    assert done.status_code == 303 and re.fullmatch(r"/runbooks/runs/\d+", done.headers["location"])
    waiting = client.get(done.headers["location"])
    assert 'hx-trigger="every 1s"' in waiting.text and "queued" in waiting.text
    wk_app.worker(container).run_once()
    output = client.get(done.headers["location"] + "/output")
    assert output.status_code == 200 and "hello from the step" in output.text and 'data-status="succeeded"' in output.text
    assert "hx-trigger" not in output.text  # finished: no more polling


def test_review_buttons(client, signed_in):
    asked = client.post("/runbooks/review", data={"csrf_token": signed_in, "path": "checkout.md", "action": "request",
                                                  "note": "please"}, follow_redirects=False)
    assert asked.status_code == 303
    approved = client.post("/runbooks/review", data={"csrf_token": signed_in, "path": "checkout.md", "action": "approve"},
                           follow_redirects=False)
    assert approved.status_code == 303
    page = client.get("/runbooks/view", params={"path": "checkout.md"})
    assert "current" in page.text and "by alice" in page.text


def test_the_alert_page_links_its_runbooks(client, signed_in, session):
    from watchkeeper.alerting import service as alerting
    from watchkeeper.alerting.schemas import AlertFilter, AlertIn

    from tests.runbooks.helpers import SYSTEM

    alerting.ingest(session, alerts=[AlertIn(labels={"alertname": "CheckoutDown", "service": "checkout"},
                                             annotations={"runbook_url": "https://wiki.example.com/checkout"})],
                    source="api", actor=SYSTEM)
    session.commit()
    alert = alerting.list_alerts(session, filter=AlertFilter(), actor=SYSTEM)[0]
    page = client.get(f"/alerts/{alert.id}")
    assert page.status_code == 200
    assert 'href="/runbooks/view?path=checkout.md"' in page.text and 'href="https://wiki.example.com/checkout"' in page.text


def test_the_service_hub_and_overview_show_the_runbooks_panel(client, signed_in):
    hub = client.get("/services/checkout")
    assert hub.status_code == 200
    assert "Runbooks" in hub.text and "Checkout is down" in hub.text and "review not current" in hub.text
    assert "bus factor 0" in hub.text or "bus factor 1" in hub.text
    overview = client.get("/")
    assert overview.status_code == 200 and "lint error(s)" in overview.text and "checkout.md" in overview.text
