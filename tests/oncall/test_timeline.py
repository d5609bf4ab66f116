"""The final timeline (timeline.final_timeline) against its rules and a minute-by-minute model."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oncall import model
from watchkeeper.oncall.schemas import DAYS, Layer, Restriction
from watchkeeper.oncall.timeline import Cover, final_timeline, wall_to_utc

UTC = dt.timezone.utc
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
# windows around the 2026 transitions of each zone (and an ordinary week)
AROUND = [dt.datetime(2026, 3, 28, tzinfo=UTC), dt.datetime(2026, 10, 24, tzinfo=UTC), dt.datetime(2026, 3, 7, tzinfo=UTC),
          dt.datetime(2026, 10, 31, tzinfo=UTC), dt.datetime(2026, 4, 3, tzinfo=UTC), dt.datetime(2026, 10, 2, tzinfo=UTC),
          dt.datetime(2026, 6, 10, tzinfo=UTC)]
PEOPLE = ["ann", "ben", "cat", "dan"]

minute_times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def restrictions(draw):
    return Restriction(days=draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)),
                       start=draw(minute_times), end=draw(minute_times))


@st.composite
def layers(draw, name: str, near: dt.date, restricted: bool = True):
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    length = draw(st.integers(1, 12) if unit == "hours" else st.integers(1, 3))
    return Layer(
        name=name, members=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
        shift_length=length, shift_unit=unit, handoff_time=draw(minute_times),
        handoff_weekday=draw(st.none() | st.sampled_from(DAYS)) if unit == "weeks" else None,
        start=near - dt.timedelta(days=draw(st.integers(-1, 20))),
        restrictions=draw(st.lists(restrictions(), max_size=2)) if restricted else [],
    )


@st.composite
def schedules(draw, restricted: bool = True, with_overrides: bool = True):
    zone = draw(st.sampled_from(ZONES))
    base = draw(st.sampled_from(AROUND)) + dt.timedelta(hours=draw(st.integers(0, 48)))
    start = base.replace(minute=draw(st.sampled_from([0, 7, 30])))
    end = start + dt.timedelta(hours=draw(st.integers(1, 40)))
    stack = [draw(layers(f"l{i}", start.date(), restricted)) for i in range(draw(st.integers(1, 3)))]
    covers = []
    if with_overrides:
        for i in range(draw(st.integers(0, 3))):
            lo = start + dt.timedelta(minutes=15 * draw(st.integers(-8, 160)))
            covers.append(Cover(id=i + 1, person=draw(st.sampled_from(PEOPLE + ["eve"])), start=lo,
                                end=lo + dt.timedelta(minutes=15 * draw(st.integers(1, 80)))))
    return zone, stack, covers, start, end


def _check_shape(segs, start, end):
    for s in segs:
        assert start <= s.start < s.end <= end
    for a, b in zip(segs, segs[1:]):
        assert a.end <= b.start, "segments overlap"
        assert not (a.end == b.start and a.person == b.person and a.source == b.source), "unmerged neighbours"


SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(schedules())
def test_the_final_timeline_matches_a_minute_by_minute_model(case):
    zone, stack, covers, start, end = case
    segs = final_timeline(timezone=zone, layers=stack, overrides=covers, start=start, end=end)
    _check_shape(segs, start, end)
    for t in model.minutes(start, end):
        assert model.at(segs, t) == model.who(zone, stack, covers, t), t


@SLOW
@given(schedules(restricted=False, with_overrides=False))
def test_a_layer_of_contiguous_rotations_leaves_no_gap_or_overlap(case):
    zone, stack, _covers, start, end = case
    layer = stack[0]
    first = wall_to_utc(dt.datetime.combine(layer.start, layer.handoff_time), ZoneInfo(zone))
    if layer.handoff_weekday:
        first = max(first, wall_to_utc(dt.datetime.combine(layer.start, dt.time(0)), ZoneInfo(zone)))
    segs = final_timeline(timezone=zone, layers=[layer], overrides=[], start=start, end=end)
    _check_shape(segs, start, end)
    if segs:
        assert segs[-1].end == end
        assert all(a.end == b.start for a, b in zip(segs, segs[1:])), "a gap inside the rotation"
        assert segs[0].start == max(start, segs[0].start) and (segs[0].start == start or segs[0].start >= first)
    # and the hand-offs of a rotation that started before the window cover it completely
    if wall_to_utc(model._anchor(layer), ZoneInfo(zone)) <= start:
        assert segs and segs[0].start == start


@SLOW
@given(schedules(), st.data())
def test_overrides_always_win(case, data):
    zone, stack, covers, start, end = case
    segs = final_timeline(timezone=zone, layers=stack, overrides=covers, start=start, end=end)
    newest_first = sorted(covers, key=lambda c: -c.id)
    for _ in range(30):
        t = start + (end - start) * data.draw(st.floats(0, 0.999))
        covering = [c for c in newest_first if c.start <= t < c.end]
        if covering:
            assert model.at(segs, t) == (covering[0].person, f"override:{covering[0].id}")


@SLOW
@given(schedules(with_overrides=False))
def test_restrictions_only_remove_time(case):
    zone, stack, _covers, start, end = case
    for layer in stack:
        free = layer.model_copy(update={"restrictions": []})
        with_r = final_timeline(timezone=zone, layers=[layer], overrides=[], start=start, end=end)
        without = final_timeline(timezone=zone, layers=[free], overrides=[], start=start, end=end)
        for s in with_r:
            for t in (s.start, s.end - dt.timedelta(microseconds=1)):
                assert model.at(without, t) == (s.person, s.source)
        assert sum((s.end - s.start for s in with_r), dt.timedelta()) <= sum((s.end - s.start for s in without), dt.timedelta())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(AROUND), st.integers(-2, 3), minute_times)
def test_wall_to_utc_is_the_first_minute_the_clock_reaches(zone, around, days, time):
    naive = dt.datetime.combine(around.date() + dt.timedelta(days=days), time)
    assert wall_to_utc(naive, ZoneInfo(zone)) == model.first_reach_by_scan(naive, ZoneInfo(zone))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(AROUND), st.sampled_from(["days", "weeks"]),
       st.integers(1, 2), minute_times, st.none() | st.sampled_from(DAYS))
def test_hand_offs_happen_at_the_stated_local_wall_clock_time_across_dst(zone, around, unit, length, handoff, weekday):
    tz = ZoneInfo(zone)
    layer = Layer(name="primary", members=["ann", "ben", "cat"], shift_length=length, shift_unit=unit,
                  handoff_time=handoff, handoff_weekday=weekday if unit == "weeks" else None,
                  start=around.date() - dt.timedelta(days=30))
    start, end = around - dt.timedelta(days=10), around + dt.timedelta(days=25)
    segs = final_timeline(timezone=zone, layers=[layer], overrides=[], start=start, end=end)
    assert segs[0].start == start and segs[-1].end == end
    handoffs = [s.start for s in segs[1:]]
    assert len(handoffs) >= 35 // (7 * length if unit == "weeks" else length) - 1
    for h in handoffs:
        local = h.astimezone(tz)
        wall = local.replace(tzinfo=None)
        exists = wall_to_utc(dt.datetime.combine(wall.date(), handoff), tz).astimezone(tz).time() == handoff
        if exists:
            assert local.time() == handoff, (zone, h, local)
        else:  # the clock skipped the hand-off time that day: it happens at the jump
            before = (h - dt.timedelta(minutes=1)).astimezone(tz).replace(tzinfo=None)
            assert before.time() < handoff < local.time()
        if weekday and unit == "weeks":
            assert DAYS[local.weekday()] == weekday
    # consecutive hand-offs are whole wall-clock days apart
    for a, b in zip(handoffs, handoffs[1:]):
        step = (b.astimezone(tz).date() - a.astimezone(tz).date()).days
        assert step == (7 * length if unit == "weeks" else length)


def test_a_daily_shift_across_the_spring_change_in_berlin_lasts_23_hours_and_hands_off_at_nine():
    layer = Layer(name="day", members=["ann", "ben"], shift_length=1, shift_unit="days", handoff_time=dt.time(9),
                  start=dt.date(2026, 3, 1))
    segs = final_timeline(timezone="Europe/Berlin", layers=[layer], overrides=[],
                          start=dt.datetime(2026, 3, 28, 6, tzinfo=UTC), end=dt.datetime(2026, 3, 30, 12, tzinfo=UTC))
    assert [(s.start.isoformat(), s.end.isoformat(), s.person) for s in segs] == [
        ("2026-03-28T06:00:00+00:00", "2026-03-28T08:00:00+00:00", "ann"),  # hand-off 26 (27 March)
        ("2026-03-28T08:00:00+00:00", "2026-03-29T07:00:00+00:00", "ben"),  # 09:00 CET to 09:00 CEST: 23 hours
        ("2026-03-29T07:00:00+00:00", "2026-03-30T07:00:00+00:00", "ann"),
        ("2026-03-30T07:00:00+00:00", "2026-03-30T12:00:00+00:00", "ben"),
    ]
    assert segs[1].end - segs[1].start == dt.timedelta(hours=23)


def test_stacking_overrides_and_restrictions_in_one_example():
    base = Layer(name="base", members=["ann", "ben"], shift_length=1, shift_unit="weeks", handoff_time=dt.time(9),
                 handoff_weekday="mon", start=dt.date(2026, 11, 30))
    day = Layer(name="office", members=["cat"], shift_length=1, shift_unit="days", handoff_time=dt.time(0),
                start=dt.date(2026, 11, 30), restrictions=[Restriction(days=["mon", "tue", "wed", "thu", "fri"])])
    cover = Cover(id=7, person="dan", start=dt.datetime(2026, 12, 1, 10, tzinfo=UTC), end=dt.datetime(2026, 12, 1, 11, tzinfo=UTC))
    segs = final_timeline(timezone="UTC", layers=[base, day], overrides=[cover],
                          start=dt.datetime(2026, 12, 1, 0, tzinfo=UTC), end=dt.datetime(2026, 12, 2, 0, tzinfo=UTC))
    assert [(s.start.hour, s.end.hour, s.person, s.source) for s in segs] == [
        (0, 9, "ann", "layer:base"), (9, 10, "cat", "layer:office"), (10, 11, "dan", "override:7"),
        (11, 17, "cat", "layer:office"), (17, 0, "ann", "layer:base"),
    ]


def test_a_restriction_starting_in_the_skipped_hour_starts_at_the_jump():
    layer = Layer(name="night", members=["ann"], shift_length=1, shift_unit="days", handoff_time=dt.time(0),
                  start=dt.date(2026, 3, 1), restrictions=[Restriction(days=["sun"], start=dt.time(2, 30), end=dt.time(4))])
    start, end = dt.datetime(2026, 3, 28, 22, tzinfo=UTC), dt.datetime(2026, 3, 29, 4, tzinfo=UTC)
    segs = final_timeline(timezone="Europe/Berlin", layers=[layer], overrides=[], start=start, end=end)
    assert [(s.start.isoformat(), s.end.isoformat()) for s in segs] == [("2026-03-29T01:00:00+00:00", "2026-03-29T02:00:00+00:00")]
    for t in model.minutes(start, end):
        assert model.at(segs, t) == model.who("Europe/Berlin", [layer], [], t)
