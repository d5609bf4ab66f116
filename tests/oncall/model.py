"""A brute-force, minute-by-minute model of an on-call schedule, written from the rules in
timeline.py's docstring without its interval arithmetic: for each minute, ask every override
and every layer directly. Only `wall_to_utc` (checked on its own against a minute scan) is shared."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from watchkeeper.oncall.schemas import DAYS
from watchkeeper.oncall.timeline import wall_to_utc

MINUTE = dt.timedelta(minutes=1)
UNIT = {"hours": dt.timedelta(hours=1), "days": dt.timedelta(days=1), "weeks": dt.timedelta(weeks=1)}


def first_reach_by_scan(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first whole minute at which the wall clock reads `naive` or later, by scanning
    minutes from a day before (transitions of the zones tested fall on whole minutes)."""
    t = (naive - dt.timedelta(days=1)).replace(tzinfo=dt.timezone.utc, second=0, microsecond=0)
    while t.astimezone(tz).replace(tzinfo=None) < naive:
        t += MINUTE
    return t


def _anchor(layer) -> dt.datetime:
    day = layer.start
    if layer.shift_unit == "weeks" and layer.handoff_weekday:
        while DAYS[day.weekday()] != layer.handoff_weekday:
            day += dt.timedelta(days=1)
    return dt.datetime.combine(day, layer.handoff_time)


@functools.lru_cache(maxsize=100_000)
def _reach(naive: dt.datetime, timezone: str) -> dt.datetime:
    return wall_to_utc(naive, ZoneInfo(timezone))


def layer_person(layer, timezone: str, t: dt.datetime) -> str | None:
    """Member k is on call from hand-off k to hand-off k+1; count the hand-offs at or before t."""
    anchor, step = _anchor(layer), UNIT[layer.shift_unit] * layer.shift_length
    if t < _reach(anchor, timezone):
        return None
    # jump near t by whole steps in wall-clock time, then walk (the model's only shortcut)
    k = max(0, int((t.replace(tzinfo=None) - anchor) / step) - 3)
    while _reach(anchor + k * step, timezone) > t:
        k -= 1
    while _reach(anchor + (k + 1) * step, timezone) <= t:
        k += 1
    if layer.restrictions and not _restricted_in(layer, timezone, t):
        return None
    return layer.members[k % len(layer.members)]


def _restricted_in(layer, timezone: str, t: dt.datetime) -> bool:
    today = t.astimezone(ZoneInfo(timezone)).date()
    for day in (today - dt.timedelta(days=2), today - dt.timedelta(days=1), today, today + dt.timedelta(days=1)):
        for r in layer.restrictions:
            if DAYS[day.weekday()] not in r.days:
                continue
            end_day = day if r.end > r.start else day + dt.timedelta(days=1)
            if _reach(dt.datetime.combine(day, r.start), timezone) <= t < _reach(dt.datetime.combine(end_day, r.end), timezone):
                return True
    return False


def who(timezone: str, layers, overrides, t: dt.datetime) -> tuple[str, str] | None:
    for c in sorted(overrides, key=lambda c: -c.id):
        if c.start <= t < c.end:
            return c.person, f"override:{c.id}"
    for layer in reversed(layers):
        person = layer_person(layer, timezone, t)
        if person is not None:
            return person, f"layer:{layer.name}"
    return None


def minutes(start: dt.datetime, end: dt.datetime):
    t = start
    while t < end:
        yield t
        t += MINUTE


def at(segments, t: dt.datetime) -> tuple[str, str] | None:
    for s in segments:
        if s.start <= t < s.end:
            return s.person, s.source
    return None
