"""When a suppression ends, the alert pages at its group's next group_interval flush (issue 10,
item 2): Alertmanager re-applies silences and inhibition at every flush. Before, a group that
had notified some alerts waited for last notification + repeat_interval (4 h)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.factories.alerting import alert, configure, email_receiver, ingest
from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import Alert
from watchkeeper.alerting.schemas import SilenceCreate

ROUTE = {"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s", "group_interval": "1m", "repeat_interval": "4h"}


def _run(session, worker, seconds: float) -> None:
    session.commit()
    clock.advance(dt.timedelta(seconds=seconds))
    worker.run_once()
    session.expire_all()


def _state(session, region: str) -> str:
    return session.execute(select(Alert.state).where(Alert.alertname == "SlowRequests", Alert.labels["region"].as_string() == region)
                           ).scalar_one()


def test_an_alert_inhibited_by_another_group_pages_one_group_interval_after_the_inhibitor_resolves(
        session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=ROUTE, dependency_inhibition=False,
              inhibit_rules=[{"source_matchers": ['alertname="DatacenterDown"'], "target_matchers": ['severity="warning"'],
                              "equal": ["region"]}])
    ingest(session, alert("DatacenterDown", region="eu", severity="critical"),
           alert("SlowRequests", region="eu", severity="warning"), alert("SlowRequests", region="us", severity="warning"))
    _run(session, worker, 31)
    assert sorted(smtp_server.subjects()) == ["[FIRING:1] DatacenterDown", "[FIRING:1] SlowRequests"]
    assert _state(session, "eu") == "inhibited"

    ingest(session, alert("DatacenterDown", region="eu", severity="critical", status="resolved"))
    _run(session, worker, 61)  # one group_interval later, nowhere near the 4 h repeat_interval
    assert _state(session, "eu") == "active"
    assert "[FIRING:2] SlowRequests" in smtp_server.subjects(), smtp_server.subjects()
    assert "region=eu" in smtp_server.bodies()[smtp_server.subjects().index("[FIRING:2] SlowRequests")]


def test_a_silence_that_runs_out_lets_the_alert_page_at_the_next_group_interval(session, frozen_clock, smtp_server, worker, personas):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=ROUTE)
    alerting.create_silence(session, data=SilenceCreate(matchers=['region="eu"'], duration="10m", comment="failover drill"),
                            actor=personas["root"].actor)
    ingest(session, alert("SlowRequests", region="eu", severity="warning"), alert("SlowRequests", region="us", severity="warning"))
    _run(session, worker, 31)
    assert smtp_server.subjects() == ["[FIRING:1] SlowRequests"] and _state(session, "eu") == "silenced"
    _run(session, worker, 60)  # still silenced: nothing new is said
    assert smtp_server.subjects() == ["[FIRING:1] SlowRequests"]

    _run(session, worker, 10 * 60)  # the silence ran out (nobody expired it); this is the next flush
    assert _state(session, "eu") == "active"
    assert smtp_server.subjects() == ["[FIRING:1] SlowRequests", "[FIRING:2] SlowRequests"]


def test_a_group_with_nothing_suppressed_still_waits_for_the_repeat_interval(session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=ROUTE)
    ingest(session, alert("SlowRequests", region="us", severity="warning"))
    _run(session, worker, 31)
    _run(session, worker, 3600)
    assert smtp_server.subjects() == ["[FIRING:1] SlowRequests"]
    _run(session, worker, 3 * 3600)
    assert smtp_server.subjects() == ["[FIRING:1] SlowRequests"] * 2
