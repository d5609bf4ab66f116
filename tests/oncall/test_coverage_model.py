"""Coverage analysis finds every gap a minute-by-minute check finds (and nothing else)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oncall import model
from tests.oncall.test_timeline import PEOPLE, minute_times, schedules
from watchkeeper.catalog.schemas import DAYS, SupportHours
from watchkeeper.oncall.coverage import find_gaps, level_one, support_spans
from watchkeeper.oncall.timeline import final_timeline


@st.composite
def support_hours(draw):
    kind = draw(st.sampled_from([None, "24x7", "business"]))
    if kind is None:
        return None
    if kind == "24x7":
        return SupportHours(kind="24x7")
    start, end = sorted(draw(st.lists(minute_times, min_size=2, max_size=2, unique=True)))
    return SupportHours(kind="business", timezone=draw(st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney",
                                                                        "Asia/Kolkata", "UTC"])),
                        days=draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)), start=start, end=end)


def _required(hours, t: dt.datetime) -> bool:
    if hours is None or hours.kind == "24x7":
        return True
    local = t.astimezone(ZoneInfo(hours.timezone))
    for day in (local.date() - dt.timedelta(days=1), local.date()):
        if DAYS[day.weekday()] in hours.days and \
                model._reach(dt.datetime.combine(day, hours.start), hours.timezone) <= t < model._reach(dt.datetime.combine(day, hours.end), hours.timezone):
            return True
    return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(), support_hours(), st.lists(st.sampled_from(PEOPLE + ["eve"]), max_size=1),
       st.sets(st.sampled_from(PEOPLE + ["eve"])))
def test_coverage_finds_every_gap_a_minute_by_minute_check_finds(case, hours, persons, reachable_people):
    zone, stack, covers, start, end = case
    segs = final_timeline(timezone=zone, layers=stack, overrides=covers, start=start, end=end)
    gaps = find_gaps(support_spans(hours, start, end), level_one(persons, [segs], start, end),
                     lambda p: p in reachable_people)
    for a, b in zip(gaps, gaps[1:]):
        assert a.end <= b.start
    for t in model.minutes(start, end):
        here = model.who(zone, stack, covers, t)
        people = set(persons) | ({here[0]} if here else set())
        expected = None
        if _required(hours, t) and not people & reachable_people:
            expected = ("no_contact", sorted(people)) if people else ("nobody", [])
        found = [(g.kind, g.people) for g in gaps if g.start <= t < g.end]
        assert found == ([expected] if expected else []), t
