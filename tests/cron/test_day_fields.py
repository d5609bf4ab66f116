"""Day-of-month and day-of-week (issue 10 item 7): when either field starts with `*` a day must
match both (Vixie/Debian cron, crontab(5), cronsim); otherwise either. croniter ORed them, so
`0 3 */2 * 1-5` expected a run on the wrong day and the heartbeat went down falsely."""

from __future__ import annotations

import datetime as dt

import pytest

from watchkeeper import cron
from watchkeeper.maintenance import _windows
from watchkeeper.monitoring.probes import _heartbeat

UTC = dt.timezone.utc
MONDAY = dt.datetime(2026, 12, 7, 3, 0, 5, tzinfo=UTC)  # Monday 7 December 2026, just after a 03:00 run


@pytest.mark.parametrize("expr, expected", [
    # odd days of the month that are weekdays: Wed 9, Fri 11, Tue 15 (13 is a Sunday)
    ("0 3 */2 * 1-5", ["2026-12-09", "2026-12-11", "2026-12-15"]),
    # weekdays among days 1-7 (day-of-week starts with *: AND) - all of them, not every day
    ("0 3 1-7 * *", ["2027-01-01", "2027-01-02", "2027-01-03"]),
    ("0 3 1-7 * */1", ["2027-01-01", "2027-01-02", "2027-01-03"]),
    # neither starts with *: the 1st and 15th OR every Friday
    ("0 3 1,15 * 5", ["2026-12-11", "2026-12-15", "2026-12-18"]),
    # day-of-month starts with * (a step over the whole range): AND
    ("0 3 */3 * 5", ["2026-12-25", "2027-01-01", "2027-01-22"]),
])
def test_day_of_month_and_day_of_week_combine_as_cron8(expr, expected):
    runs = cron.runs(expr, after=MONDAY, timezone="UTC")
    assert [next(runs).date().isoformat() for _ in expected] == expected


def test_a_heartbeat_on_odd_weekdays_is_not_expected_on_an_even_day():
    kw = dict(last_start=None, period=None, timezone="UTC", grace=dt.timedelta(minutes=10))
    # croniter expected Tuesday the 8th (a weekday, ORed) and took the monitor down that morning
    assert _heartbeat.deadline(last_ping=MONDAY, cron="0 3 */2 * 1-5", **kw) == dt.datetime(2026, 12, 9, 3, 10, tzinfo=UTC)


def test_a_maintenance_window_on_odd_weekdays_starts_on_the_next_odd_weekday():
    start = dt.datetime(2026, 12, 1, tzinfo=UTC)
    occurrence = _windows.next_occurrence(starts_at=start, duration=dt.timedelta(hours=1), rrule=None,
                                          cron="0 3 */2 * 1-5", tz="UTC", until=None, after=MONDAY)
    assert occurrence == (dt.datetime(2026, 12, 9, 3, tzinfo=UTC), dt.datetime(2026, 12, 9, 4, tzinfo=UTC))


@pytest.mark.parametrize("alias, fields", [("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"),
                                           ("@monthly", "0 0 1 * *"), ("@weekly", "0 0 * * 0"),
                                           ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
                                           ("@hourly", "0 * * * *"), ("@DAILY", "0 0 * * *")])
def test_crontab_shortcuts_mean_what_crontab5_says(alias, fields):
    assert cron.check(alias) == fields
    assert cron.next_run(alias, after=MONDAY, timezone="UTC") == cron.next_run(fields, after=MONDAY, timezone="UTC")
