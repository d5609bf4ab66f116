"""SLOs: error budgets and multi-window multi-burn-rate alerts against hand-computed fixtures
(docs/slos.md has the arithmetic), the per-minute pipeline, SLA reports."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper import clock
from watchkeeper.clock import to_ms
from watchkeeper.monitoring.metrics import store
from watchkeeper.monitoring.models import Slo
from watchkeeper.monitoring.slos import _burn, evaluation, sla
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.monitoring.slos.schemas import SloCreate
from tests.factories.auth import SYSTEM

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)

# ---------------------------------------------------------------- the pure arithmetic


def _sums(ratios: dict[dt.timedelta, float], total: float = 100_000.0):
    return {w: (total * (1 - ratios[w]), total) for w in _burn.WINDOWS}


def test_policy_is_the_documented_one():
    assert [(a.name, a.severity, a.factor, a.long, a.short) for a in _burn.POLICY] == [
        ("page-1h", "page", 14.4, H, 5 * M), ("page-6h", "page", 6.0, 6 * H, 30 * M),
        ("ticket-3d", "ticket", 1.0, 72 * H, 6 * H)]
    # 14.4x for 1 h spends 2 % of a 30-day budget; 6x for 6 h 5 %; 1x for 3 days 10 %
    thirty = dt.timedelta(days=30)
    assert [round(a.budget_share(thirty), 4) for a in _burn.POLICY] == [0.02, 0.05, 0.1]


@pytest.mark.parametrize("ratios, firing", [
    # error ratio per window (5m, 30m, 1h, 6h, 3d) with a 99.9 % target (budget 0.1 %)
    ({5 * M: 0.0150, 30 * M: 0.0150, H: 0.0150, 6 * H: 0.0025, 72 * H: 0.0002}, {"page-1h"}),   # burn 15 > 14.4
    ({5 * M: 0.0143, 30 * M: 0.0143, H: 0.0143, 6 * H: 0.0024, 72 * H: 0.0002}, set()),         # burn 14.3: just under
    ({5 * M: 0.0000, 30 * M: 0.0100, H: 0.0150, 6 * H: 0.0025, 72 * H: 0.0002}, set()),         # stopped: short window clean
    ({5 * M: 0.0070, 30 * M: 0.0070, H: 0.0070, 6 * H: 0.0070, 72 * H: 0.0006}, {"page-6h"}),   # burn 7 > 6 over 6 h
    ({5 * M: 0.0015, 30 * M: 0.0015, H: 0.0015, 6 * H: 0.0015, 72 * H: 0.0015}, {"ticket-3d"}), # burn 1.5 > 1 over 3 d
    ({5 * M: 0.0009, 30 * M: 0.0009, H: 0.0009, 6 * H: 0.0009, 72 * H: 0.0009}, set()),         # burn 0.9: within budget
])
def test_burn_rate_alerts_at_the_documented_thresholds(ratios, firing):
    result = _burn.evaluate(_sums(ratios), target_percent=99.9)
    assert {name for name, (fires, _, _) in result.items() if fires} == firing


def test_burn_rate_and_budget_by_hand():
    assert _burn.burn_rate(985, 1000, target_percent=99.9) == pytest.approx(15.0)
    assert _burn.burn_rate(0, 0, target_percent=99.9) is None  # no traffic is not an outage
    assert _burn.budget_remaining(999_500, 1_000_000, target_percent=99.9) == pytest.approx(0.5)
    assert _burn.budget_remaining(998_000, 1_000_000, target_percent=99.9) == pytest.approx(-1.0)


@settings(max_examples=200, deadline=None)
@given(good=st.integers(0, 10_000), extra=st.integers(0, 10_000), target=st.floats(90, 99.99))
def test_burn_rate_is_error_ratio_over_budget(good, extra, target):
    total = good + extra
    rate = _burn.burn_rate(good, total, target_percent=target)
    if total == 0:
        assert rate is None
        return
    assert rate == pytest.approx((extra / total) / (1 - target / 100))
    left = _burn.budget_remaining(good, total, target_percent=target)
    assert left == pytest.approx(1 - rate)


# ---------------------------------------------------------------- the pipeline with synthetic events


def _traffic(session, *, until: dt.datetime, minutes: int, per_minute: int, bad: int) -> None:
    """`minutes` minutes of events ending at `until`: per_minute events, `bad` of them bad."""
    samples = []
    for i in range(minutes):
        ts = to_ms(until - (minutes - i) * M) + 10_000
        samples.append(("requests_total", {"svc": "pay"}, float(per_minute), ts))
        samples.append(("requests_good", {"svc": "pay"}, float(per_minute - bad), ts))
    store.write(session, samples)


def _slo(session, actor, **kw) -> Slo:
    make_service(session, name="pay")
    slos.create_slo(session, data=SloCreate(name="pay-availability", service="pay", target=99.9, window="30d",
                                            good="requests_good", total="requests_total", **kw), actor=actor)
    return session.execute(select(Slo)).scalar_one()


def _evaluate(session, slo) -> None:
    for _ in range(10):  # accounting catches up at most a day per run
        evaluation.evaluate_slo(session, slo)
        if slo.evaluated_until_ms == to_ms(clock.utcnow()) // 60_000 * 60_000:
            return
    raise AssertionError("SLO accounting did not catch up")


def _firing(session) -> set[str]:
    return {b.alert for b in slos.status(session, actor=SYSTEM, name="pay-availability").burn if b.firing}


def test_a_fast_burn_pages_and_resolves_soon_after_it_stops(session, system_actor, frozen_clock, published):
    now = frozen_clock
    _traffic(session, until=now - H, minutes=71 * 60, per_minute=1000, bad=0)  # 3 days of clean traffic …
    _traffic(session, until=now, minutes=60, per_minute=1000, bad=20)  # … then an hour at 2 % errors
    slo = _slo(session, system_actor)
    _evaluate(session, slo)
    st_ = slos.status(session, actor=SYSTEM, name="pay-availability")
    burn = {b.alert: (round(b.burn_long, 3), round(b.burn_short, 3)) for b in st_.burn}
    # by hand: 1 h and 5 m at 2 %/0.1 % = 20; 6 h: 1,200 bad of 360,000 = 3.333; 3 d: 1,200 of 4,320,000 = 0.278
    assert burn == {"page-1h": (20.0, 20.0), "page-6h": (3.333, 20.0), "ticket-3d": (0.278, 3.333)}
    assert _firing(session) == {"page-1h"}
    page = [e for e in published if e.firing]
    assert len(page) == 1 and page[0].source == "slo" and page[0].severity == "critical"
    assert page[0].labels["alert"] == "page-1h" and page[0].labels["window"] == "1h/5m" and page[0].service == "pay"
    # issue 10.11: a route written for severity="critical" catches the fast burn
    assert page[0].labels["severity"] == "critical" and page[0].labels["urgency"] == "page"
    from watchkeeper.configfile import loader, plan

    plan.apply(session, loader.load_text(
        "alerting:\n  receivers:\n    - name: ops\n      channels: [{type: email, to: [ops@example.com]}]\n"
        "    - name: pager\n      channels: [{type: webhook, url: 'https://pager.example.com/hook'}]\n"
        "  route:\n    receiver: ops\n    routes:\n      - matchers: ['severity=\"critical\"']\n        receiver: pager\n"),
        actor=system_actor)
    from watchkeeper.alerting import service as alerting

    routed = alerting.explain_route(session, actor=SYSTEM, labels={"alertname": "SLOErrorBudgetBurn", **page[0].labels})
    assert [r["receiver"] for r in routed.routes] == ["pager"]
    # the burn stops: ten clean minutes clear the 5-minute window while the hour still looks bad
    clock.advance(10 * M)
    _traffic(session, until=clock.utcnow(), minutes=10, per_minute=1000, bad=0)
    _evaluate(session, slo)
    assert _firing(session) == set()
    assert [e.firing for e in published] == [True, False]
    long_burn = next(b.burn_long for b in slos.status(session, actor=SYSTEM, name="pay-availability").burn if b.alert == "page-1h")
    assert long_burn == pytest.approx(50 * 20 / 60_000 / 0.001)  # 16.7: still above 14.4, yet resolved


def test_a_slow_burn_opens_a_ticket_not_a_page(session, system_actor, frozen_clock, published):
    _traffic(session, until=frozen_clock, minutes=72 * 60, per_minute=2000, bad=3)  # 0.15 % for 3 days: burn 1.5
    slo = _slo(session, system_actor)
    _evaluate(session, slo)
    assert _firing(session) == {"ticket-3d"}
    ticket = [e for e in published if e.firing][0]
    assert ticket.labels["severity"] == "warning" and ticket.labels["urgency"] == "ticket" and ticket.severity == "warning"
    st_ = slos.status(session, actor=SYSTEM, name="pay-availability")
    # 30-day window, 3 days of data at 0.15 %: attainment 99.85 %, budget 1 - 1.5 = -50 %
    assert st_.attainment_percent == pytest.approx(99.85)
    assert st_.budget_remaining == pytest.approx(-0.5)


def test_six_hours_at_seven_times_pages_on_the_six_hour_window(session, system_actor, frozen_clock):
    _traffic(session, until=frozen_clock - 6 * H, minutes=66 * 60, per_minute=1000, bad=0)
    _traffic(session, until=frozen_clock, minutes=6 * 60, per_minute=1000, bad=7)
    slo = _slo(session, system_actor)
    _evaluate(session, slo)
    assert _firing(session) == {"page-6h"}


def test_counters_are_counted_by_increase(session, system_actor, frozen_clock):
    # cumulative counters: +1000 requests and +995 good per minute → 0.5 % errors → burn 5
    samples = []
    for i in range(121):
        ts = to_ms(frozen_clock - (121 - i) * M) + 5_000
        samples += [("requests_total", {"svc": "pay"}, 1000.0 * i, ts), ("requests_good", {"svc": "pay"}, 995.0 * i, ts)]
    store.write(session, samples)
    slo = _slo(session, system_actor, counters=True)
    _evaluate(session, slo)
    page = next(b for b in slos.status(session, actor=SYSTEM, name="pay-availability").burn if b.alert == "page-1h")
    assert page.burn_long == pytest.approx(5.0) and not page.firing


def test_latency_slo_counts_requests_under_the_threshold(session, system_actor, frozen_clock):
    samples = [("api_latency_seconds", {"route": "/pay"}, v, to_ms(frozen_clock - 30 * M) + i * 100)
               for i, v in enumerate([0.1, 0.2, 0.25, 0.31, 0.9] * 20)]
    store.write(session, samples)
    make_service(session, name="pay")
    slos.create_slo(session, data=SloCreate(name="pay-latency", service="pay", kind="latency", target=99.0,
                                            metric='api_latency_seconds{route="/pay"}', threshold="300ms"), actor=system_actor)
    evaluation.evaluate_all(session)
    st_ = slos.status(session, actor=SYSTEM, name="pay-latency")
    assert (st_.good, st_.total) == (60.0, 100.0)


def test_availability_slo_from_a_monitor(session, system_actor, frozen_clock):
    make_service(session, name="pay")
    make_monitor(session, name="pay-home", service="pay")
    store.write(session, [("probe_success", {"monitor": "pay-home", "location": "*"}, 0.0 if i % 10 == 0 else 1.0,
                           to_ms(frozen_clock - 50 * M) + i * 30_000) for i in range(100)])
    slos.create_slo(session, data=SloCreate(name="pay-probe", service="pay", target=95, monitor="pay-home"), actor=system_actor)
    evaluation.evaluate_all(session)
    st_ = slos.status(session, actor=SYSTEM, name="pay-probe")
    assert (st_.good, st_.total) == (90.0, 100.0) and st_.attainment_percent == 90.0


@pytest.mark.parametrize("fields, message", [
    ({}, "an SLO needs exactly one source"),
    ({"good": "a"}, "give both good and total selectors"),
    ({"monitor": "m", "good": "a", "total": "b"}, "found monitor, good/total"),
    ({"kind": "latency", "monitor": "m"}, "a latency SLO needs threshold"),
    ({"kind": "latency", "good": "a", "total": "b", "threshold": "1s"}, "a latency SLO reads latencies from a monitor or from metric"),
    ({"monitor": "m", "window": "10m"}, "window must be at least 1h"),
    ({"good": "a{", "total": "b"}, "good: the rule ends early"),
])
def test_bad_slos_get_one_line_reasons(fields, message):
    with pytest.raises(ValidationError) as exc:
        SloCreate(name="s", target=99.9, **fields)
    assert message in str(exc.value)


def test_monthly_sla_report_per_service(session, system_actor, frozen_clock):
    from watchkeeper.catalog.schemas import Targets

    make_service(session, name="pay", targets=Targets(sla=99.0, slo=99.5))
    make_service(session, name="blog", targets=Targets(sla=99.9))
    make_service(session, name="docs")
    make_monitor(session, name="blog-home", service="blog")
    # blog: 1 failure in 200 checks this month = 99.5 %, below its 99.9 % SLA
    store.write(session, [("probe_success", {"monitor": "blog-home", "location": "*"}, 0.0 if i == 0 else 1.0,
                           to_ms(frozen_clock - 10 * H) + i * 60_000) for i in range(200)])
    _traffic(session, until=frozen_clock, minutes=120, per_minute=1000, bad=2)  # pay: 99.8 %
    slos.create_slo(session, data=SloCreate(name="pay-availability", service="pay", target=99.5, good="requests_good",
                                            total="requests_total"), actor=system_actor)
    _evaluate(session, session.execute(select(Slo)).scalar_one())
    report = {r.service: r for r in sla.sla_report(session, month="2026-03", actor=system_actor).rows}
    assert (report["pay"].attainment_percent, report["pay"].met, report["pay"].source) == (99.8, True, "slo:pay-availability")
    assert (report["blog"].attainment_percent, report["blog"].met, report["blog"].source) == (99.5, False, "monitors:blog-home")
    assert (report["docs"].attainment_percent, report["docs"].met) == (None, None)
    with pytest.raises(Exception, match="is not YYYY-MM"):
        sla.sla_report(session, month="March", actor=system_actor)


# ---------------------------------------------------------------- events written behind the roll-up mark


def _outage_days(session, now: dt.datetime) -> None:
    """3 days at 1,000 requests a minute ending at `now`, all of them failing for one hour on day 2."""
    outage_end = now - 40 * H
    _traffic(session, until=outage_end - H, minutes=31 * 60, per_minute=1000, bad=0)
    _traffic(session, until=outage_end, minutes=60, per_minute=1000, bad=1000)
    _traffic(session, until=now, minutes=40 * 60, per_minute=1000, bad=0)


# by hand: 60,000 bad of 4,320,000 = 1.389 % against a 0.1 % budget: 13.89 budgets spent, -12.89 left
OUTAGE_BUDGET_LEFT = 1 - (60_000 / 4_320_000) / 0.001


def test_a_new_slo_counts_its_back_filled_history_once_roll_ups_are_current(session, system_actor, frozen_clock):
    from watchkeeper.catalog.schemas import Targets
    from watchkeeper.monitoring import evidence

    _outage_days(session, frozen_clock)
    store.rollup(session, max_span=dt.timedelta(days=4))  # the roll-ups are current before the SLO exists
    slo = _slo(session, system_actor)
    _evaluate(session, slo)  # back-fills 3 days of SLO minutes, all behind the roll-up mark
    st_ = slos.status(session, actor=SYSTEM, name="pay-availability")  # the 30-day window reads the roll-ups
    assert (st_.good, st_.total) == (4_260_000.0, 4_320_000.0)
    assert st_.budget_remaining == pytest.approx(OUTAGE_BUDGET_LEFT)
    assert round(st_.budget_remaining, 1) == -12.9
    # the raw samples and the roll-ups agree minute by minute and hour by hour
    ids = [sid for sid, _ in store.find_series(session, evaluation.events_selector(evaluation.TOTAL, "pay-availability"))]
    raw = sum(v for pts in store.raw_points(session, ids, 0, to_ms(frozen_clock)).values() for _, v in pts)
    marks = store._marks(session)
    for resolution in store.RESOLUTIONS:
        rolled = store._buckets(session, ids, resolution, 0, marks[resolution])
        behind = sum(v for pts in store.raw_points(session, ids, 0, marks[resolution] - 1).values() for _, v in pts)
        assert sum(total for rows in rolled.values() for _, total, _, _ in rows) == behind
    assert raw == 4_320_000.0
    # the SLA report for February (a past month: roll-ups only, up to its end) and the readiness evidence agree
    report = {r.service: r for r in sla.sla_report(session, month="2026-02", actor=system_actor).rows}
    # Feb 27 09:00 to Mar 1 00:00 = 39 h of traffic, the outage hour (Feb 28 16:00-17:00) among them
    assert (report["pay"].good, report["pay"].total) == (39 * 60_000 - 60_000.0, 39 * 60_000.0)
    session.flush()
    svc = make_service(session, name="pay-2", targets=Targets(slo=99.9))
    slos.create_slo(session, data=SloCreate(name="pay-2-availability", service="pay-2", target=99.9, window="30d",
                                            good="requests_good", total="requests_total"), actor=system_actor)
    _evaluate(session, session.execute(select(Slo).where(Slo.name == "pay-2-availability")).scalar_one())
    ev = evidence.slo_achievable(session, svc)
    assert ev.details["attained_percent"] == pytest.approx(100 * 4_260_000 / 4_320_000, abs=1e-4)


def test_catch_up_after_worker_downtime_reaches_the_budget(session, system_actor, frozen_clock):
    """The worker was down for 2 hours (an outage hour among them); on restart the roll-up job runs
    before SLO accounting, so the caught-up minutes land behind the roll-up mark."""
    start = frozen_clock
    _traffic(session, until=start, minutes=60, per_minute=1000, bad=0)
    slo = _slo(session, system_actor)
    _evaluate(session, slo)
    store.rollup(session)
    clock.advance(2 * H)  # the worker is down
    _traffic(session, until=clock.utcnow() - H, minutes=60, per_minute=1000, bad=1000)
    _traffic(session, until=clock.utcnow(), minutes=60, per_minute=1000, bad=0)
    store.rollup(session)  # restart: roll-ups first …
    _evaluate(session, slo)  # … then the SLO catches up two hours behind the mark
    st_ = slos.status(session, actor=SYSTEM, name="pay-availability")
    assert (st_.good, st_.total) == (120_000.0, 180_000.0)
    assert st_.budget_remaining == pytest.approx(1 - (60_000 / 180_000) / 0.001)
    # and the next roll-up neither loses nor double-counts them
    clock.advance(5 * M)
    _traffic(session, until=clock.utcnow(), minutes=5, per_minute=1000, bad=0)
    store.rollup(session)
    _evaluate(session, slo)
    assert slos.status(session, actor=SYSTEM, name="pay-availability").total == 185_000.0


# ---------------------------------------------------------------- changing an SLO's source


def test_a_new_source_replaces_the_old_sources_events(session, system_actor, frozen_clock, published):
    """3 days at 2 % errors (burn 20: all three alerts fire), then `apply` switches the SLO to a clean
    source: the burn rates are the new source's alone and every alert resolves (the old code added
    both sources' events, burn 10, and page-6h and ticket-3d kept firing)."""
    _traffic(session, until=frozen_clock, minutes=72 * 60, per_minute=1000, bad=20)
    store.write(session, [(name, {"svc": "pay"}, 1000.0, to_ms(frozen_clock - (72 * 60 - i) * M) + 20_000)
                          for i in range(72 * 60) for name in ("clean_total", "clean_good")])
    slo = _slo(session, system_actor)
    _evaluate(session, slo)
    store.rollup(session, max_span=dt.timedelta(days=4))
    assert _firing(session) == {"page-1h", "page-6h", "ticket-3d"}
    assert {b.alert: round(b.burn_long, 3) for b in slos.status(session, actor=SYSTEM, name="pay-availability").burn} == {
        "page-1h": 20.0, "page-6h": 20.0, "ticket-3d": 20.0}
    clock.advance(M)
    slos.replace_slo(session, data=SloCreate(name="pay-availability", service="pay", target=99.9, window="30d",
                                             good="clean_good", total="clean_total"), actor=system_actor)
    _evaluate(session, slo)
    st_ = slos.status(session, actor=SYSTEM, name="pay-availability")
    assert {b.alert: (b.burn_long, b.burn_short) for b in st_.burn} == {
        "page-1h": (0.0, 0.0), "page-6h": (0.0, 0.0), "ticket-3d": (0.0, 0.0)}
    assert _firing(session) == set()
    assert sorted((e.labels["alert"], e.firing) for e in published) == [
        ("page-1h", False), ("page-1h", True), ("page-6h", False), ("page-6h", True), ("ticket-3d", False), ("ticket-3d", True)]
    # the 30-day window (roll-ups) holds the clean source's 3 days once, not both sources' 6
    assert (st_.good, st_.total) == (4_320_000.0, 4_320_000.0) and st_.budget_remaining == 1.0
    # an SLO deleted and made again under its name starts from nothing but its new source
    slos.delete_slo(session, name="pay-availability", actor=system_actor)
    ids = [sid for sid, _ in store.find_series(session, evaluation.events_selector(evaluation.TOTAL, "pay-availability"))]
    assert ids and not store.raw_points(session, ids, 0, to_ms(clock.utcnow()))
    assert not store._buckets(session, ids, 60, 0, 2**62) and not store._buckets(session, ids, 3600, 0, 2**62)
