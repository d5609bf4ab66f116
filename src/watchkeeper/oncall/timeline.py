"""The final on-call timeline: the one function that says who is on call when.

`final_timeline` is pure (no session): the API, the CLI, "who is on call", escalation and the
coverage analysis all call it. Its rules:

- Wall clock. Hand-offs and restriction windows are wall-clock times in the schedule's zone.
  A wall-clock time happens at the first instant the zone's clock reaches it (`wall_to_utc`):
  a time the clock skips (spring forward) happens at the jump, a time it shows twice (fall
  back) the first time. Shift lengths step the wall clock (a daily hand-off at 09:00 stays at
  09:00 across DST; that shift lasts 23 or 25 hours), so an hourly shift inside the skipped
  hour is empty.
- A layer's member k (0-based, in order, cycling) is on call from hand-off k to hand-off k+1;
  hand-off 0 is `start` at `handoff_time` (weekly rotations: the first `handoff_weekday` on or
  after `start`). Restrictions keep only the time inside their windows.
- Layers stack: a later layer wins wherever it has someone on call; where it has nobody (before
  its start, outside its restrictions) the layers below show through.
- Overrides always win; of two overlapping overrides the later one (higher id) wins.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from watchkeeper.oncall.schemas import DAYS, Layer, Segment

UTC = dt.timezone.utc
_NOMINAL = {"hours": dt.timedelta(hours=1), "days": dt.timedelta(days=1), "weeks": dt.timedelta(weeks=1)}


@dataclasses.dataclass(frozen=True)
class Cover:
    """An override as the timeline needs it."""

    id: int
    person: str
    start: dt.datetime
    end: dt.datetime


def wall_to_utc(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first instant at which the wall clock of `tz` reads `naive` or later."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # exists; fold=0 is its first occurrence
    # Skipped by a forward jump: fold=1 lands before the jump, fold=0 after; find the jump.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + dt.timedelta(seconds=((hi - lo) // dt.timedelta(seconds=1)) // 2)
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def _anchor(layer: Layer) -> dt.datetime:
    day = layer.start
    if layer.shift_unit == "weeks" and layer.handoff_weekday is not None:
        day += dt.timedelta(days=(DAYS.index(layer.handoff_weekday) - day.weekday()) % 7)
    return dt.datetime.combine(day, layer.handoff_time)


def _step(layer: Layer) -> dt.timedelta:
    return _NOMINAL[layer.shift_unit] * layer.shift_length


def handoff(layer: Layer, tz: ZoneInfo, k: int) -> dt.datetime:
    """Hand-off k of `layer` (k = 0 is its first), in UTC."""
    return wall_to_utc(_anchor(layer) + k * _step(layer), tz)


def layer_shifts(layer: Layer, tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """The layer's rotation in [start, end), restrictions not applied: (from, to, person)."""
    if handoff(layer, tz, 0) >= end:
        return []
    # estimate the shift holding `start` from the nominal length, then correct (DST moves it by hours)
    k = max(0, math.floor((start - handoff(layer, tz, 0)) / _step(layer)) - 1)
    while handoff(layer, tz, k + 1) <= start:
        k += 1
    while k > 0 and handoff(layer, tz, k) > start:
        k -= 1
    out: list[tuple[dt.datetime, dt.datetime, str]] = []
    here = handoff(layer, tz, k)
    while here < end:
        nxt = handoff(layer, tz, k + 1)
        lo, hi = max(here, start), min(nxt, end)
        if lo < hi:
            out.append((lo, hi, layer.members[k % len(layer.members)]))
        k, here = k + 1, nxt
    return out


def allowed(layer: Layer, tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The stretches of [start, end) the layer's restrictions keep, sorted and merged."""
    if not layer.restrictions:
        return [(start, end)] if start < end else []
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date() + dt.timedelta(days=1)
    while day <= last:
        for r in layer.restrictions:
            if DAYS[day.weekday()] not in r.days:
                continue
            end_day = day if r.end > r.start else day + dt.timedelta(days=1)
            lo = max(wall_to_utc(dt.datetime.combine(day, r.start), tz), start)
            hi = min(wall_to_utc(dt.datetime.combine(end_day, r.end), tz), end)
            if lo < hi:
                spans.append((lo, hi))
        day += dt.timedelta(days=1)
    return _merge(spans)


def _merge(spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _restrict(shifts, spans):
    out = []
    for lo, hi, person in shifts:
        for a, b in spans:
            s, e = max(lo, a), min(hi, b)
            if s < e:
                out.append((s, e, person))
    return out


def layer_timeline(layer: Layer, tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """One layer on its own, restrictions applied: (from, to, person), sorted, not overlapping."""
    return _restrict(layer_shifts(layer, tz, start, end), allowed(layer, tz, start, end))


def final_timeline(*, timezone: str, layers: Sequence[Layer], overrides: Sequence[Cover],
                   start: dt.datetime, end: dt.datetime) -> list[Segment]:
    """Who is on call in [start, end): sorted, non-overlapping segments; time with nobody on
    call is absent. Adjacent stretches of one person from one source are merged."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("timeline bounds must be aware datetimes")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    tz = ZoneInfo(timezone)
    per_layer = [layer_timeline(layer, tz, start, end) for layer in layers]
    covers = [c for c in overrides if c.start < end and c.end > start]
    cuts = {start, end}
    for shifts in per_layer:
        for lo, hi, _p in shifts:
            cuts.update((lo, hi))
    for c in covers:
        cuts.update((max(c.start, start), min(c.end, end)))
    points = sorted(cuts)
    starts = [[s[0] for s in shifts] for shifts in per_layer]
    covers.sort(key=lambda c: -c.id)
    out: list[Segment] = []
    for lo, hi in zip(points, points[1:]):
        who = _winner(lo, covers, per_layer, starts, [layer.name for layer in layers])
        if who is None:
            continue
        person, source = who
        if out and out[-1].end == lo and out[-1].person == person and out[-1].source == source:
            out[-1] = Segment(start=out[-1].start, end=hi, person=person, source=source)
        else:
            out.append(Segment(start=lo, end=hi, person=person, source=source))
    return out


def _winner(at, covers, per_layer, starts, names) -> tuple[str, str] | None:
    for c in covers:  # newest first
        if c.start <= at < c.end:
            return c.person, f"override:{c.id}"
    for index in range(len(per_layer) - 1, -1, -1):
        shifts = per_layer[index]
        i = bisect.bisect_right(starts[index], at) - 1
        if i >= 0 and shifts[i][0] <= at < shifts[i][1]:
            return shifts[i][2], f"layer:{names[index]}"
    return None
