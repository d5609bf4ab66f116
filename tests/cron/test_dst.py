"""Daylight saving time (issue 10 item 6): a schedule's runs are the ones Debian's cron(8) makes.

A fixed-time line (neither minute nor hour starts with `*`) runs once on the day the clock
goes back — in the first pass — and a run the clock skips on the day it goes forward happens
right after the change. croniter expected `30 2 * * *` in Europe/Berlin a second time (02:30
winter time) on the fall-back day, so the heartbeat went down an hour after its real run.
Wildcard lines follow the wall clock: they skip the gap and run in both passes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.cron import cron8
from watchkeeper import cron
from watchkeeper.maintenance import _windows
from watchkeeper.monitoring.probes import _heartbeat

UTC = dt.timezone.utc


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _local(runs, zone: str) -> list[str]:
    return [r.astimezone(zoneinfo.ZoneInfo(zone)).isoformat() for r in runs]


def _next(expr: str, zone: str, after: dt.datetime, count: int = 1) -> list[str]:
    return _local(itertools.islice(cron.runs(expr, after=after, timezone=zone), count), zone)


# ---------------------------------------------------------------- the fall-back day: once, in the first pass

# (zone, schedule, the run on the fall-back day (UTC), the next run after it (local))
FALL_BACK = [
    # Europe/Berlin 2026-10-25: 03:00 CEST -> 02:00 CET
    ("Europe/Berlin", "30 2 * * *", utc(2026, 10, 25, 0, 30), "2026-10-26T02:30:00+01:00"),
    # weekly, on the Sunday of the change
    ("Europe/Berlin", "30 2 * * 0", utc(2026, 10, 25, 0, 30), "2026-11-01T02:30:00+01:00"),
    ("Europe/Berlin", "30 2 * * SUN", utc(2026, 10, 25, 0, 30), "2026-11-01T02:30:00+01:00"),
    # America/New_York 2026-11-01: 02:00 EDT -> 01:00 EST
    ("America/New_York", "30 1 * * *", utc(2026, 11, 1, 5, 30), "2026-11-02T01:30:00-05:00"),
    ("America/New_York", "30 1 * * 0", utc(2026, 11, 1, 5, 30), "2026-11-08T01:30:00-05:00"),
    # Australia/Lord_Howe 2026-04-05: 02:00 +11 -> 01:30 +10:30 (a 30-minute change)
    ("Australia/Lord_Howe", "45 1 * * *", utc(2026, 4, 4, 14, 45), "2026-04-06T01:45:00+10:30"),
    ("Australia/Lord_Howe", "45 1 * * 0", utc(2026, 4, 4, 14, 45), "2026-04-12T01:45:00+10:30"),
]


@pytest.mark.parametrize("zone, expr, run, following", FALL_BACK)
def test_a_fixed_time_job_runs_once_on_the_fall_back_day(zone, expr, run, following):
    day_before = run - dt.timedelta(days=7 if expr.endswith(("0", "SUN")) else 1)
    assert cron.next_run(expr, after=day_before + dt.timedelta(minutes=1), timezone=zone) == run
    # a ping from that run (a few seconds in) or, for a long job, from the repeated hour
    for ping in (run + dt.timedelta(seconds=5), run + dt.timedelta(minutes=50)):
        assert _next(expr, zone, ping) == [following], ping


def test_the_berlin_heartbeat_of_the_issue_stays_up_through_the_fall_back_night():
    kw = dict(last_start=None, period=None, cron="30 2 * * *", timezone="Europe/Berlin", grace=dt.timedelta(minutes=10))
    ping = utc(2026, 10, 25, 0, 30, 5)  # 02:30:05 CEST
    # croniter: 02:30 CET (01:30 UTC) + grace -> down at 01:40 UTC the same night
    assert _heartbeat.deadline(last_ping=ping, **kw) == utc(2026, 10, 26, 1, 40)


def test_a_heartbeat_pinged_in_the_repeated_hour_is_next_expected_the_following_day():
    kw = dict(last_start=None, period=None, cron="30 2 * * *", timezone="Europe/Berlin", grace=dt.timedelta(minutes=10))
    ping = utc(2026, 10, 25, 1, 15)  # 02:15 CET, the job ran 45 minutes
    assert _heartbeat.deadline(last_ping=ping, **kw) == utc(2026, 10, 26, 1, 40)


def test_a_wildcard_job_runs_in_both_passes_of_the_repeated_hour():
    assert _next("0 * * * *", "Europe/Berlin", utc(2026, 10, 24, 22, 30), 4) == [
        "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"]
    assert _next("*/20 1 * * *", "America/New_York", utc(2026, 11, 1, 4, 50), 6) == [
        "2026-11-01T01:00:00-04:00", "2026-11-01T01:20:00-04:00", "2026-11-01T01:40:00-04:00",
        "2026-11-01T01:00:00-05:00", "2026-11-01T01:20:00-05:00", "2026-11-01T01:40:00-05:00"]


# ---------------------------------------------------------------- the spring-forward day: right after the change


@pytest.mark.parametrize("zone, expr, after, expected", [
    # Europe/Berlin 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist
    ("Europe/Berlin", "30 2 * * *", utc(2026, 3, 28, 1, 31), ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]),
    ("Europe/Berlin", "30 2 * * 0", utc(2026, 3, 22, 1, 31), ["2026-03-29T03:00:00+02:00", "2026-04-05T02:30:00+02:00"]),
    # several skipped runs all start at 03:00 (one instant)
    ("Europe/Berlin", "0,15,30 2 * * *", utc(2026, 3, 28, 1, 31), ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]),
    # America/New_York 2026-03-08: 02:00 EST -> 03:00 EDT
    ("America/New_York", "30 2 * * *", utc(2026, 3, 7, 7, 31), ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
    # Australia/Lord_Howe 2026-10-04: 02:00 +10:30 -> 02:30 +11
    ("Australia/Lord_Howe", "15 2 * * *", utc(2026, 10, 2, 15, 50), ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]),
    ("Australia/Lord_Howe", "15 2 * * 0", utc(2026, 9, 26, 15, 50), ["2026-10-04T02:30:00+11:00", "2026-10-11T02:15:00+11:00"]),
])
def test_a_fixed_time_run_the_clock_skips_happens_right_after_the_change(zone, expr, after, expected):
    assert _next(expr, zone, after, 2) == expected


def test_a_wildcard_job_skips_the_missing_hour():
    assert _next("*/30 * * * *", "Europe/Berlin", utc(2026, 3, 29, 0, 15), 3) == [
        "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]
    assert _next("15 * * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 14, 30), 2) == [
        "2026-10-04T01:15:00+10:30", "2026-10-04T03:15:00+11:00"]


@pytest.mark.parametrize("expr", ["*/30 0 * * 0", "* 0 6 9 *"])
def test_a_wildcard_job_whose_hour_the_clock_skips_at_midnight_does_not_run(expr):
    # America/Santiago 2026-09-06: 00:00 -04 -> 01:00 -03, so hour 0 of that Sunday never happens.
    # cronsim alone offers the non-existent 00:00 (= 01:00 -03); cron(8) runs nothing then.
    after = utc(2026, 9, 5, 18)
    assert cron.next_run(expr, after=after, timezone="America/Santiago") > utc(2026, 9, 7)


def test_a_maintenance_window_starts_once_on_the_fall_back_day():
    start = utc(2026, 10, 1)
    starts = list(_windows.occurrence_starts(starts_at=start, rrule=None, cron="30 2 * * *", tz="Europe/Berlin",
                                             after=utc(2026, 10, 24, 12), before=utc(2026, 10, 26, 12)))
    assert starts == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


# ---------------------------------------------------------------- cronsim's own DST table (Europe/Riga, 2021)

RIGA = zoneinfo.ZoneInfo("Europe/Riga")
# DST began 2021-03-28 03:00 -> 04:00; it ended 2021-10-31 04:00 -> 03:00.
RIGA_TABLE = [
    ("0 * * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00"]),
    ("0 * * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:00:00+03:00", "2021-10-31T03:00:00+03:00",
                                          "2021-10-31T03:00:00+02:00", "2021-10-31T04:00:00+02:00"]),
    ("*/30 * * * *", (2021, 3, 28, 2, 10), ["2021-03-28T02:30:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T04:30:00+03:00"]),
    ("*/30 * * * *", (2021, 10, 31, 2, 10), ["2021-10-31T02:30:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T03:30:00+03:00",
                                             "2021-10-31T03:00:00+02:00", "2021-10-31T03:30:00+02:00", "2021-10-31T04:00:00+02:00"]),
    ("*/15 * * * *", (2021, 3, 28, 2, 40), ["2021-03-28T02:45:00+02:00", "2021-03-28T04:00:00+03:00"]),
    ("*/15 * * * *", (2021, 10, 31, 2, 40), ["2021-10-31T02:45:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T03:15:00+03:00",
                                             "2021-10-31T03:30:00+03:00", "2021-10-31T03:45:00+03:00", "2021-10-31T03:00:00+02:00",
                                             "2021-10-31T03:15:00+02:00", "2021-10-31T03:30:00+02:00", "2021-10-31T03:45:00+02:00",
                                             "2021-10-31T04:00:00+02:00"]),
    ("0 */2 * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T06:00:00+03:00"]),
    ("0 */2 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:00:00+03:00", "2021-10-31T04:00:00+02:00", "2021-10-31T06:00:00+02:00"]),
    ("30 */2 * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:30:00+02:00", "2021-03-28T04:30:00+03:00"]),
    ("30 */2 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:30:00+03:00", "2021-10-31T04:30:00+02:00"]),
    ("0 */3 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T03:00:00+03:00", "2021-10-31T03:00:00+02:00", "2021-10-31T06:00:00+02:00"]),
    ("0 1,2,3,4,5 * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T05:00:00+03:00"]),
    ("0 1,2,3,4,5 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:00:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T04:00:00+02:00"]),
    ("30 1,2,3,4,5 * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:30:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T04:30:00+03:00"]),
    ("30 1,2,3,4,5 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:30:00+03:00", "2021-10-31T03:30:00+03:00", "2021-10-31T04:30:00+02:00"]),
    ("0 2 * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:00:00+02:00", "2021-03-29T02:00:00+03:00"]),
    ("0 2 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:00:00+03:00", "2021-11-01T02:00:00+02:00"]),
    ("0 3 * * *", (2021, 3, 27, 1, 30), ["2021-03-27T03:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-29T03:00:00+03:00"]),
    ("0 3 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T03:00:00+03:00", "2021-11-01T03:00:00+02:00"]),
    ("0 4 * * *", (2021, 3, 27, 1, 30), ["2021-03-27T04:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-29T04:00:00+03:00"]),
    ("0 4 * * *", (2021, 10, 30, 1, 30), ["2021-10-30T04:00:00+03:00", "2021-10-31T04:00:00+02:00", "2021-11-01T04:00:00+02:00"]),
    ("0 " + ",".join(str(h) for h in range(24)) + " * * *", (2021, 3, 28, 1, 30),
     ["2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T05:00:00+03:00"]),
    ("0 " + ",".join(str(h) for h in range(24)) + " * * *", (2021, 10, 31, 1, 30),
     ["2021-10-31T02:00:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T04:00:00+02:00"]),
    ("0 1,3,5,7,9,11,13,15,17,19,21,23 * * *", (2021, 3, 28, 0, 30),
     ["2021-03-28T01:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T05:00:00+03:00"]),
    ("0 1,3,5,7,9,11,13,15,17,19,21,23 * * *", (2021, 10, 31, 0, 30),
     ["2021-10-31T01:00:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T05:00:00+02:00"]),
    ("0 1-5 * * *", (2021, 3, 28, 1, 30), ["2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T05:00:00+03:00"]),
    ("0 1-5 * * *", (2021, 10, 31, 1, 30), ["2021-10-31T02:00:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T04:00:00+02:00"]),
    ("15 3 * * *", (2021, 3, 27, 0, 0), ["2021-03-27T03:15:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-29T03:15:00+03:00"]),
    ("15 3 * * *", (2021, 10, 30, 0, 0), ["2021-10-30T03:15:00+03:00", "2021-10-31T03:15:00+03:00", "2021-11-01T03:15:00+02:00"]),
    ("* * * * *", (2021, 3, 28, 2, 58), ["2021-03-28T02:59:00+02:00", "2021-03-28T04:00:00+03:00"]),
    ("* * * * *", (2021, 10, 31, 3, 58), ["2021-10-31T03:59:00+03:00", "2021-10-31T03:00:00+02:00", "2021-10-31T03:01:00+02:00"]),
    ("* 1-6 * * *", (2021, 3, 28, 2, 58), ["2021-03-28T02:59:00+02:00", "2021-03-28T04:00:00+03:00"]),
    ("* 1-6 * * *", (2021, 10, 31, 3, 58), ["2021-10-31T03:59:00+03:00", "2021-10-31T03:00:00+02:00", "2021-10-31T03:01:00+02:00"]),
]


@pytest.mark.parametrize("expr, start, expected", RIGA_TABLE)
def test_cronsim_dst_table(expr, start, expected):
    after = dt.datetime(*start, tzinfo=RIGA)  # fold=0: the first pass, as in cronsim's table
    assert _next(expr, "Europe/Riga", after, len(expected)) == expected
    # and Debian's cron(8), modelled minute by minute, agrees
    model = cron8.runs(expr, timezone="Europe/Riga", start=after - dt.timedelta(days=1), end=after + dt.timedelta(days=3))
    assert _local([r for r in model if r > after][: len(expected)], "Europe/Riga") == expected


# ---------------------------------------------------------------- property: agree with cron(8) everywhere

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Europe/Riga"]


def _transitions(zone_name: str) -> list[dt.datetime]:
    zone = zoneinfo.ZoneInfo(zone_name)
    at, end, out = utc(2025, 1, 1), utc(2028, 1, 1), []
    previous = at.astimezone(zone).utcoffset()
    while at < end:
        at += dt.timedelta(hours=1)
        offset = at.astimezone(zone).utcoffset()
        if offset != previous:
            out.append(at)
        previous = offset
    return out or [utc(2026, 6, 1)]


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}

MINUTES = st.one_of(st.sampled_from(["*", "*/5", "*/15", "*/30", "0", "30", "45", "0,30", "15-20", "10-50/20", "59"]),
                    st.integers(0, 59).map(str))
HOURS = st.one_of(st.sampled_from(["*", "*/2", "*/3", "1", "2", "3", "0", "1-3", "0,2,4", "2-5/2", "22-23"]),
                  st.integers(0, 23).map(str))
DAYS = st.sampled_from(["*", "*", "*", "*/2", "1-15", "1,15", "*/3", "2-31/2", "28"])
MONTHS = st.sampled_from(["*", "*", "*", "1-6", "3,4,10,11", "*/2", "oct-dec"])
WEEKDAYS = st.sampled_from(["*", "*", "*", "1-5", "0", "7", "0,6", "*/2", "sun", "mon-fri", "6"])
LINES = st.tuples(MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS).map(" ".join)


@st.composite
def instants(draw) -> tuple[str, dt.datetime]:
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        base = draw(st.sampled_from(TRANSITIONS[zone]))
        at = base + dt.timedelta(minutes=draw(st.integers(-8 * 60, 8 * 60)))
    else:
        at = utc(2026, 1, 1) + dt.timedelta(minutes=draw(st.integers(0, 366 * 24 * 60)))
    return zone, at + dt.timedelta(seconds=draw(st.sampled_from([0, 0, 5, 59])))


@settings(max_examples=250, deadline=None)
@given(line=LINES, where=instants())
@example(line="30 2 * * *", where=("Europe/Berlin", utc(2026, 10, 25, 0, 30, 5)))
@example(line="30 2 * * *", where=("Europe/Berlin", utc(2026, 10, 25, 1, 15)))
@example(line="45 1 * * 0", where=("Australia/Lord_Howe", utc(2026, 4, 4, 14, 45, 5)))
@example(line="*/30 0 * * 0", where=("America/Santiago", utc(2026, 9, 5, 18)))
def test_runs_agree_with_a_minute_by_minute_model_of_cron8(line, where):
    _agree(line, where)


def _agree(line, where):
    zone, after = where
    end = after + dt.timedelta(days=2)
    model = [r for r in cron8.runs(line, timezone=zone, start=after - dt.timedelta(days=1), end=end) if after < r <= end]
    ours = list(itertools.takewhile(lambda r: r <= end, cron.runs(line, after=after, timezone=zone)))
    assert _local(ours, zone) == _local(model, zone)


# Australia/Lord_Howe's clock moves by 30 minutes. cronsim, asked with an aware datetime, steps
# hours by 3600 s from a wall-clock :00; across the change that lands on :30, and a wildcard line
# came out 30 minutes late for the rest of the day (00:30 instead of 00:00 the next night).
@pytest.mark.parametrize("line, where", [
    ("* 0 * * *", ("Australia/Lord_Howe", utc(2025, 4, 5, 14, 59))),
    ("* */2 * * *", ("Australia/Lord_Howe", utc(2025, 4, 5, 15, 0))),
    ("* 0 * * *", ("Australia/Lord_Howe", utc(2025, 10, 4, 15, 0))),
    ("*/20 */2 * * *", ("Australia/Lord_Howe", utc(2025, 10, 4, 14, 0))),
])
def test_lord_howe_wildcard_lines_near_the_change(line, where):
    _agree(line, where)


def test_a_wildcard_line_across_lord_howes_fall_back_runs_on_the_hour_the_next_night():
    # 2025-04-06 02:00 +11 -> 01:30 +10:30; the wall minutes 01:30-01:59 happen twice
    assert _next("* 0 * * *", "Australia/Lord_Howe", utc(2025, 4, 5, 14, 59), 2) == [
        "2025-04-07T00:00:00+10:30", "2025-04-07T00:01:00+10:30"]
    assert _next("0 * * * *", "Australia/Lord_Howe", utc(2025, 4, 5, 13, 30), 4) == [
        "2025-04-06T01:00:00+11:00", "2025-04-06T02:00:00+10:30", "2025-04-06T03:00:00+10:30",
        "2025-04-06T04:00:00+10:30"]
    assert _next("*/15 1 * * *", "Australia/Lord_Howe", utc(2025, 4, 5, 14, 20), 5) == [
        "2025-04-06T01:30:00+11:00", "2025-04-06T01:45:00+11:00",
        "2025-04-06T01:30:00+10:30", "2025-04-06T01:45:00+10:30", "2025-04-07T01:00:00+10:30"]


def test_a_wildcard_line_across_lord_howes_spring_forward_skips_the_lost_half_hour():
    # 2025-10-05 02:00 +10:30 -> 02:30 +11; the wall minutes 02:00-02:29 do not happen
    assert _next("0,30 * * * *", "Australia/Lord_Howe", utc(2025, 10, 4, 14, 50), 4) == [
        "2025-10-05T01:30:00+10:30", "2025-10-05T02:30:00+11:00", "2025-10-05T03:00:00+11:00",
        "2025-10-05T03:30:00+11:00"]
    assert _next("* 0 * * *", "Australia/Lord_Howe", utc(2025, 10, 4, 15, 30), 1) == ["2025-10-06T00:00:00+11:00"]


def test_a_wildcard_line_that_only_matches_inside_the_gap_never_runs():
    # the last Sunday of March at 02:xx is always inside Berlin's spring-forward gap
    assert cron.next_run("* 2 25-31 3 */7", after=utc(2026, 1, 1), timezone="Europe/Berlin") is None
