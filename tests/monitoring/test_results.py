"""Probe results → location state → monitor state → signals (the alert events)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper import clock
from watchkeeper.monitoring.models import Check, Location, Monitor
from watchkeeper.signals.models import Signal
from watchkeeper.monitoring.probes import history, results
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.probes._state import LocationState, Status, after_result, monitor_status
from watchkeeper.monitoring.probes.kinds import ProbeResult
from watchkeeper.monitoring.probes.results import ResultIn
from watchkeeper.signals.service import list_signals
from watchkeeper.signals.schemas import SignalFilter
from tests.factories.auth import SYSTEM


class Feed:
    """Hands results for one monitor to record_results, one slot after another."""

    def __init__(self, session, name: str):
        self.session, self.name = session, name
        self.m = session.execute(select(Monitor).where(Monitor.name == name)).scalar_one()
        self.locs = {loc.location: loc.id for loc in session.execute(select(Location).where(Location.monitor_id == self.m.id)).scalars()}
        self.slot = 1_000_000

    def __call__(self, ok: bool, *, location: str = "*", error: str = "connection refused", warning: str | None = None,
                 slot: int | None = None):
        if slot is None:
            self.slot += 60_000
            slot = self.slot
        result = ProbeResult(ok=ok, latency_ms=12.5 if ok else None, error=None if ok else error, warning=warning)
        return results.record_results(self.session, [ResultIn(
            location_id=self.locs[location], monitor_id=self.m.id, monitor=self.name, location=location, slot_ms=slot,
            checked_at=clock.utcnow(), result=result)], worker="test")

    @property
    def status(self) -> str:
        return monitoring.get_monitor(self.session, actor=SYSTEM, name=self.name).status


def test_down_only_after_n_consecutive_failures_then_up_again(session, published):
    make_service(session, name="shop")
    make_monitor(session, name="home", service="shop", failures_before_down=3, runbook_url="https://runbooks.test/home")
    feed = Feed(session, "home")
    feed(True)
    assert feed.status == "up"
    feed(False)
    feed(False)
    assert feed.status == "up" and published == []
    feed(True)  # a success resets the count
    feed(False)
    feed(False)
    feed(False, error="connection failed: Connection refused [errno 111]")
    assert feed.status == "down"
    assert len(published) == 1
    down = published[0]
    assert down.firing and down.source == "probe" and down.name == "home" and down.service == "shop"
    assert down.labels == {"alertname": "MonitorDown", "monitor": "home", "kind": "http", "service": "shop", "severity": "critical"}
    assert down.annotations["description"] == "connection failed: Connection refused [errno 111]"
    assert down.annotations["runbook_url"] == "https://runbooks.test/home"
    feed(True)
    assert feed.status == "up" and [e.firing for e in published] == [True, False]
    assert published[1].ends_at is not None and published[1].starts_at == down.starts_at
    rows = list_signals(session, actor=SYSTEM, filter=SignalFilter(name="home"))
    assert [r.firing for r in rows] == [False, True]  # newest first, kept in our own history


def test_results_and_samples_are_stored(session):
    make_monitor(session, name="home")
    feed = Feed(session, "home")
    feed(True)
    feed(False)
    checks = history.list_checks(session, actor=SYSTEM, name="home")
    assert [(c.ok, c.error) for c in checks] == [(False, "connection refused"), (True, None)]
    assert history.list_checks(session, actor=SYSTEM, name="home", failures_only=True)[0].error == "connection refused"


def test_a_slot_is_recorded_once_and_late_results_do_not_flap(session, published):
    make_monitor(session, name="home", failures_before_down=1)
    feed = Feed(session, "home")
    stats = feed(True, slot=5_000_000)
    assert stats.recorded == 1
    dup = feed(False, slot=5_000_000)
    assert dup.recorded == 0 and dup.duplicates == 1
    stale = feed(False, slot=4_000_000)  # an older slot finishing late: stored, but state stays
    assert stale.stale == 1 and feed.status == "up" and published == []
    assert session.execute(select(func.count()).select_from(Check)).scalar() == 2


def test_two_of_two_quorum_needs_both_locations(session, published):
    make_monitor(session, name="global", locations=["a", "b"], quorum=2, failures_before_down=1)
    feed = Feed(session, "global")
    feed(True, location="a")
    feed(False, location="b")
    m = monitoring.get_monitor(session, actor=SYSTEM, name="global")
    assert m.status == "up" and {s.location: s.status for s in m.location_states} == {"a": "up", "b": "down"}
    assert published == []
    feed(False, location="a")
    assert feed.status == "down" and len(published) == 1
    assert published[0].details["locations"] == {"a": "down", "b": "down"}


def test_one_of_two_quorum_pages_on_a_single_location(session, published):
    make_monitor(session, name="either", locations=["a", "b"], quorum=1, failures_before_down=1)
    feed = Feed(session, "either")
    feed(True, location="a")
    feed(False, location="b")
    assert feed.status == "down" and len(published) == 1


def test_a_certificate_warning_is_its_own_signal(session, published):
    make_monitor(session, name="cert", tls={"host": "127.0.0.1"})
    feed = Feed(session, "cert")
    feed(True, warning="certificate of x expires in 10.0 days (warn below 21)")
    assert monitoring.get_monitor(session, actor=SYSTEM, name="cert").warning.startswith("certificate of x")
    assert [(e.labels["alertname"], e.firing, e.severity) for e in published] == [("MonitorWarning", True, "warning")]
    feed(True, warning="certificate of x expires in 10.0 days (warn below 21)")
    assert len(published) == 1
    feed(True)
    assert [(e.labels["alertname"], e.firing) for e in published][-1] == ("MonitorWarning", False)


def test_pausing_or_deleting_a_down_monitor_resolves_it(session, published, system_actor):
    make_monitor(session, name="a", failures_before_down=1)
    make_monitor(session, name="b", failures_before_down=1)
    Feed(session, "a")(False)
    Feed(session, "b")(False)
    monitoring.set_enabled(session, name="a", enabled=False, actor=system_actor)
    monitoring.delete_monitor(session, name="b", actor=system_actor)
    assert [(e.name, e.firing) for e in published] == [("a", True), ("b", True), ("a", False), ("b", False)]
    assert published[3].details["reason"] == "monitor deleted"
    assert session.execute(select(func.count()).select_from(Signal)).scalar() == 4


# ---------------------------------------------------------------- the pure rules, for any sequence


@settings(max_examples=200, deadline=None)
@given(results=st.lists(st.booleans(), max_size=40), n=st.integers(1, 5))
def test_location_is_down_exactly_when_the_last_n_results_failed(results, n):
    state = LocationState()
    for ok in results:
        state = after_result(state, ok=ok, failures_before_down=n)
    tail_failures = 0
    for ok in reversed(results):
        if ok:
            break
        tail_failures += 1
    assert (state.status == Status.DOWN) == (tail_failures >= n)
    assert state.consecutive_failures == tail_failures


@settings(max_examples=200, deadline=None)
@given(statuses=st.lists(st.sampled_from([Status.UP, Status.DOWN, Status.PENDING]), min_size=1, max_size=6),
       quorum=st.integers(1, 6))
def test_monitor_is_down_iff_quorum_locations_agree(statuses, quorum):
    result = monitor_status(statuses, quorum=quorum)
    downs = statuses.count(Status.DOWN)
    assert (result == Status.DOWN) == (downs >= quorum)
    if result != Status.DOWN:
        assert (result == Status.UP) == (Status.UP in statuses)
