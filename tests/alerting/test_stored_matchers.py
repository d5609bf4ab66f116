"""Matchers saved before the move to RE2 (Python's re accepted look-arounds and
backreferences) can no longer be parsed. Such a silence, maintenance window or inhibit rule
suppresses nothing and warns; it never stops a flush, the silence list or an expiry."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from sqlalchemy import update

from tests.factories.alerting import alert, configure, email_receiver, ingest
from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import RoutingConfig, Silence
from watchkeeper.alerting.schemas import SilenceCreate
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.models import Window
from watchkeeper.maintenance.schemas import WindowCreate
from tests.factories.auth import SYSTEM

OLD = ['alertname=~"(?!Watchdog).*"']  # valid for Python's re, refused by RE2


def test_old_rows_that_re2_refuses_suppress_nothing_and_break_nothing(session, frozen_clock, smtp_server, worker, personas, caplog):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], dependency_inhibition=False,
              route={"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s", "group_interval": "1m", "repeat_interval": "4h"},
              inhibit_rules=[{"source_matchers": ['alertname="Src"'], "target_matchers": ['alertname="Tgt"']}])
    silence = alerting.create_silence(session, data=SilenceCreate(matchers=['alertname="Tgt"'], duration="1h", comment="old"),
                                      actor=personas["root"].actor)
    maintenance.create_window(session, data=WindowCreate(name="old", starts_at=clock.utcnow(), duration="1h", matchers=['alertname="Tgt"']),
                              actor=personas["root"].actor)
    session.execute(update(Silence).values(matchers=OLD))
    session.execute(update(Window).values(matchers=OLD))
    # (a label name of its own: the loaded routing is cached by content, across tests)
    rules = [{"source_matchers": OLD, "target_matchers": ['alertname="Tgt"'], "equal": [f"e{secrets.token_hex(4)}"]}]
    session.execute(update(RoutingConfig).values(inhibit_rules=rules))
    ingest(session, alert("Src"), alert("Tgt"))
    with caplog.at_level(logging.WARNING, logger="watchkeeper.labels"):
        session.commit()
        clock.advance(dt.timedelta(seconds=31))
        worker.run_once()
    session.expire_all()
    assert sorted(smtp_server.subjects()) == ["[FIRING:1] Src", "[FIRING:1] Tgt"]
    assert any("silence:" in r.getMessage() and "suppresses nothing" in r.getMessage() for r in caplog.records)
    assert any("maintenance:old" in r.getMessage() for r in caplog.records)
    assert any("inhibit_rules[0]" in r.getMessage() for r in caplog.records)
    listed = alerting.list_silences(session, actor=SYSTEM)
    assert [(s.id, s.matching_firing) for s in listed] == [(silence.id, 0)]
    assert alerting.expire_silence(session, silence_id=silence.id, actor=personas["root"].actor).state == "expired"


def test_a_stored_route_re2_refuses_sends_everything_to_the_root_receiver(session, frozen_clock, smtp_server, worker, caplog):
    configure(session, receivers=[email_receiver("ops", smtp_server.port), email_receiver("pager", smtp_server.port, to="pager@example.com")],
              route={"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s",
                     "routes": [{"matchers": ['severity="critical"'], "receiver": "pager"}]})
    stored = {"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s", "group_interval": f"{secrets.randbelow(1000) + 60}s",
              "routes": [{"matchers": OLD, "receiver": "pager"}]}
    session.execute(update(RoutingConfig).values(route=stored))
    ingest(session, alert("Tgt", severity="critical"))
    with caplog.at_level(logging.WARNING, logger="watchkeeper.alerting.routing"):
        session.commit()
        clock.advance(dt.timedelta(seconds=31))
        worker.run_once()
    assert smtp_server.subjects() == ["[FIRING:1] Tgt"]
    assert [m["To"] for m in smtp_server.messages] == ["oncall@example.com"]
    assert any("root receiver" in r.getMessage() for r in caplog.records)
