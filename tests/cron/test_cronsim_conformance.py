"""Conformance: the cases of cronsim's own test table (tests/test_cronsim.py of cuu508/cronsim:
parsing, validation, iteration), ported to what Watchkeeper exposes — the runs a schedule has
and the lines it refuses. The DST table is in test_dst.py.

Where Watchkeeper deliberately differs the case says so: cronsim returns no run at all for a
line that never fires, Watchkeeper refuses it when it is written; cronsim reads a sixth field
as seconds, Watchkeeper refuses six fields.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from watchkeeper import cron

UTC = dt.timezone.utc
# cronsim's tests start from 2020-01-01 00:00 (a Wednesday), naive, which it treats as UTC.
NOW = dt.datetime(2020, 1, 1, tzinfo=UTC)


def _runs(expr: str, count: int, *, after: dt.datetime = NOW, timezone: str = "UTC") -> list[str]:
    runs = itertools.islice(cron.runs(expr, after=after, timezone=timezone), count)
    return [r.strftime("%Y-%m-%d %H:%M") for r in runs]


# ---------------------------------------------------------------- parsing (cronsim's TestParse)

PARSED = [
    ("* * * * *", ["2020-01-01 00:01", "2020-01-01 00:02"]),                             # stars
    ("1 * * * *", ["2020-01-01 00:01", "2020-01-01 01:01"]),                             # numbers
    ("* * * * 1", ["2020-01-06 00:00", "2020-01-06 00:01"]),                             # weekday
    ("0 0 * * 0", ["2020-01-05 00:00", "2020-01-12 00:00"]),                             # 0 is Sunday
    ("0 0 * * 7", ["2020-01-05 00:00", "2020-01-12 00:00"]),                             # 7 is Sunday too
    ("1,2,3 * * * *", ["2020-01-01 00:01", "2020-01-01 00:02", "2020-01-01 00:03", "2020-01-01 01:01"]),  # list
    ("1-3 * * * *", ["2020-01-01 00:01", "2020-01-01 00:02", "2020-01-01 00:03", "2020-01-01 01:01"]),    # interval
    ("1-3,7-9 * * * *", ["2020-01-01 00:01", "2020-01-01 00:02", "2020-01-01 00:03", "2020-01-01 00:07",
                         "2020-01-01 00:08", "2020-01-01 00:09", "2020-01-01 01:01"]),   # two intervals
    ("*/15 * * * *", ["2020-01-01 00:15", "2020-01-01 00:30", "2020-01-01 00:45", "2020-01-01 01:00"]),  # step
    ("0-10/2 * * * *", ["2020-01-01 00:02", "2020-01-01 00:04", "2020-01-01 00:06", "2020-01-01 00:08",
                        "2020-01-01 00:10", "2020-01-01 01:00"]),                       # interval with step
    ("5/15 * * * *", ["2020-01-01 00:05", "2020-01-01 00:20", "2020-01-01 00:35", "2020-01-01 00:50",
                      "2020-01-01 01:05"]),                                             # start with step
    ("0 0 L * *", ["2020-01-31 00:00", "2020-02-29 00:00", "2020-03-31 00:00"]),         # day L
    ("0 0 l * *", ["2020-01-31 00:00", "2020-02-29 00:00"]),                             # lowercase l
    ("0 0 * * 1", ["2020-01-06 00:00", "2020-01-13 00:00"]),                             # unrestricted day, restricted dow
    ("0 0 1 * *", ["2020-02-01 00:00", "2020-03-01 00:00"]),                             # restricted day, unrestricted dow
    ("0 0 * * 1#2", ["2020-01-13 00:00", "2020-02-10 00:00"]),                           # nth weekday
    ("0 0 * * MON", ["2020-01-06 00:00", "2020-01-13 00:00"]),                           # symbolic weekday
    ("0 0 * * mon", ["2020-01-06 00:00", "2020-01-13 00:00"]),                           # lowercase
    ("0 0 1 JAN *", ["2021-01-01 00:00", "2022-01-01 00:00"]),                           # symbolic month
    ("0 0 * * 0-2", ["2020-01-05 00:00", "2020-01-06 00:00", "2020-01-07 00:00", "2020-01-12 00:00"]),
    ("0 0 * * sun-tue", ["2020-01-05 00:00", "2020-01-06 00:00", "2020-01-07 00:00", "2020-01-12 00:00"]),
    ("0 0 * * */2", ["2020-01-02 00:00", "2020-01-04 00:00", "2020-01-05 00:00", "2020-01-07 00:00"]),  # from Sunday
    ("0 0 L/2 * *", ["2020-01-31 00:00", "2020-02-29 00:00"]),                           # L with a step is L
    ("0 0 * * 1,2,3#1", ["2020-01-06 00:00", "2020-01-07 00:00", "2020-01-13 00:00", "2020-01-14 00:00",
                         "2020-01-20 00:00", "2020-01-21 00:00", "2020-01-27 00:00", "2020-01-28 00:00",
                         "2020-02-03 00:00", "2020-02-04 00:00", "2020-02-05 00:00"]),  # ints and nth mixed
    ("0 0 * * 5L", ["2020-01-31 00:00", "2020-02-28 00:00"]),                            # last Friday
]


@pytest.mark.parametrize("expr, expected", PARSED, ids=[e for e, _ in PARSED])
def test_cronsim_parse_table(expr, expected):
    assert _runs(expr, len(expected)) == expected


# ---------------------------------------------------------------- iteration (cronsim's TestIterator)

ITERATED = [
    ("1 1 L * *", ["2020-01-31 01:01"]),
    ("1 1 * * 5L", ["2020-01-31 01:01", "2020-02-28 01:01", "2020-03-27 01:01", "2020-04-24 01:01",
                    "2020-05-29 01:01", "2020-06-26 01:01", "2020-07-31 01:01", "2020-08-28 01:01",
                    "2020-09-25 01:01", "2020-10-30 01:01", "2020-11-27 01:01", "2020-12-25 01:01"]),
    ("1 1 * * 0L", ["2020-01-26 01:01"]),
    ("1 1 * * 7L", ["2020-01-26 01:01"]),
    ("1 1 * * 1#2", ["2020-01-13 01:01"]),
    # "First Sunday of the month": the day-of-week field starts with * -> both fields must match.
    ("1 1 1-7 * */7", ["2020-01-05 01:01", "2020-02-02 01:01", "2020-03-01 01:01", "2020-04-05 01:01"]),
    # "First Monday of the month": the day-of-month field starts with * -> both fields must match.
    ("1 1 */100,1-7 * MON", ["2020-01-06 01:01", "2020-02-03 01:01", "2020-03-02 01:01", "2020-04-06 01:01"]),
]


@pytest.mark.parametrize("expr, expected", ITERATED, ids=[e for e, _ in ITERATED])
def test_cronsim_iterator_table(expr, expected):
    assert _runs(expr, len(expected)) == expected


def test_a_line_cronsim_finds_no_run_for_is_refused_when_written():
    # cronsim: "1 1 */100 * MON#4" (the 1st of the month that is its fourth Monday) raises
    # StopIteration after 50 years. Watchkeeper refuses it up front.
    with pytest.raises(cron.CronInvalid, match="never fires: no date matches both its day-of-month '\\*/100' "
                                               "and its day-of-week 'MON#4'"):
        cron.check("1 1 */100 * MON#4")


# ---------------------------------------------------------------- validation (cronsim's TestValidation)

PATTERNS = ("%s * * * *", "* %s * * *", "* * %s * *", "* * * %s * ", "* * * * %s", "1-%s * * * *",
            "%s-60 * * * *", "* * * %s-DEC *", "* * * JAN-%s *", "* * * * %s-SUN", "* * * * MON-%s")
BAD_VALUES = ("-1", "61", "ABC", "2/", "/2", "2#", "#2", "1##1", "1//2", "¹")


@pytest.mark.parametrize("pattern", PATTERNS)
def test_cronsim_bad_values_are_refused_naming_the_field(pattern):
    for value in BAD_VALUES:
        expr = pattern % value
        with pytest.raises(cron.CronInvalid) as exc:
            cron.check(expr)
        assert "field" in str(exc.value) and "\n" not in str(exc.value), expr


@pytest.mark.parametrize("expr, field", [
    ("* * 5-1 * *", "day-of-month"),      # lopsided range
    ("1-1_0 * * * *", "minute"),          # underscores
    ("*/0 * * * *", "minute"),            # zero step
    ("* * * * 1#0", "day-of-week"),       # zero nth
    ("* * * * 1#6", "day-of-week"),       # big nth
    ("* * * * 5L-6", "day-of-week"),      # L in a range
    ("* * * * 5L#1", "day-of-week"),      # L with #
    ("* * * * 5L/3", "day-of-week"),      # L with a step
    ("* * * * MONL", "day-of-week"),      # symbolic L
])
def test_cronsim_malformed_fields_are_refused_naming_the_field(expr, field):
    with pytest.raises(cron.CronInvalid, match=f"the {field} field"):
        cron.check(expr)


def test_cronsim_four_fields_are_refused():
    with pytest.raises(cron.CronInvalid, match="has 4 fields; write five fields"):
        cron.check("* * * *")


@pytest.mark.parametrize("expr", ["* * 30 2 *", "* * 31 4 *"])
def test_cronsim_day_of_month_range_check(expr):
    with pytest.raises(cron.CronInvalid, match="never fires: no month it names has day"):
        cron.check(expr)
