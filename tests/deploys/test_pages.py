"""The deploy pages: the list, the page of a canary that rolled back (steps, analysis, timed
rollback, timeline), the change calendar with its conflicts and the freeze form (CSRF)."""

from __future__ import annotations

import re

from tests.deploys.canary import seed_calendar, seed_canary
from tests.deploys.peers import FixedService


def _login(client, persona) -> str | None:
    r = client.post("/login", data={"username": persona.username, "password": persona.password}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/deploys/calendar")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    return found.group(1) if found else None


def test_the_deploy_page_of_a_canary_that_rolled_back(client, session, personas, run_worker, tmp_path):
    with FixedService("1.4.2", status=500) as bad:
        deploy_id = seed_canary(session, bad_url=f"http://127.0.0.1:{bad.port}/", log_path=str(tmp_path / "hook.log"))
        session.commit()
        run_worker()
    _login(client, personas["alice"])
    listing = client.get("/deploys?service=shop")
    assert listing.status_code == 200
    assert f'<a href="/deploys/{deploy_id}">{deploy_id}</a>' in listing.text and "rolled back" in listing.text
    page = client.get(f"/deploys/{deploy_id}")
    assert page.status_code == 200
    text = page.text
    assert 'class="deploy-status deploy-rolled_back">rolled back</span>' in text
    assert "0/5 healthy samples" in text and "answered 500" in text
    assert text.count('class="deploy-status deploy-pending">pending</span>') == 3  # steps 2-4 never ran
    assert "rollback (analysis) to <code>1.4.1</code>" in text and "healthy in <strong class=\"within\">" in text
    assert "CI run" in text and "412 passed" in text
    assert re.search(r"<strong>traffic</strong> 5 % to 1.4.2", text) and "<strong>rolled_back</strong>" in text
    client.cookies.clear()
    _login(client, personas["carol"])  # no grants: the deploy is not hers to see
    assert client.get(f"/deploys/{deploy_id}").status_code == 403


def test_the_calendar_page_flags_conflicts_and_manages_freezes(client, session, personas):
    from tests.factories.catalog import make_service

    make_service(session, name="shop", team="payments")
    seed_calendar(session)
    session.commit()
    csrf = _login(client, personas["root"])
    page = client.get("/deploys/calendar?view=month")
    assert page.status_code == 200
    assert "deploy in freeze" in page.text and "inside change freeze weekend" in page.text
    assert 'class="entry kind-planned_deploy flagged"' in page.text
    bad = client.post("/deploys/freezes", data={"csrf_token": csrf, "name": "x", "starts_at": "tomorrow", "duration": "1d"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "starts_at" in bad.text
    no_csrf = client.post("/deploys/freezes", data={"name": "y", "starts_at": "2030-01-01T00:00:00Z", "duration": "1d"},
                          follow_redirects=False)
    assert no_csrf.status_code == 403
    made = client.post("/deploys/freezes", data={"csrf_token": csrf, "name": "release-week", "starts_at": "2030-01-01T00:00:00Z",
                                                 "duration": "3d", "reason": "year-end"}, follow_redirects=False)
    assert made.status_code == 303
    assert "<td>release-week</td>" in client.get("/deploys/calendar").text
    gone = client.post("/deploys/freezes/release-week/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert gone.status_code == 303 and "<td>release-week</td>" not in client.get("/deploys/calendar").text
