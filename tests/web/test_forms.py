"""A refused form shows its page again with the reason beside it — never an error page."""

from __future__ import annotations

import datetime as dt
import re

from tests.factories.catalog import make_service
from watchkeeper import clock


def _login(client, personas) -> str:
    r = client.post("/login", data={"username": "root", "password": personas["root"].password, "next": "/maintenance"},
                    follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/maintenance").text).group(1)


def test_a_window_in_an_unknown_time_zone_is_refused_on_its_page(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    csrf = _login(client, personas)
    start = (clock.utcnow() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    page = client.post("/maintenance", data={"csrf_token": csrf, "name": "patching", "service": "checkout", "starts_at": start,
                                              "duration": "1h", "timezone": "Mars/Olympus"}, follow_redirects=False)
    assert page.status_code == 200
    assert "unknown time zone &#39;Mars/Olympus&#39;; use an IANA name such as Europe/Berlin or UTC" in page.text
    done = client.post("/maintenance", data={"csrf_token": csrf, "name": "patching", "service": "checkout", "starts_at": start,
                                              "duration": "1h", "timezone": "Europe/Berlin"}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/maintenance")
    assert "patching" in client.get("/maintenance").text
