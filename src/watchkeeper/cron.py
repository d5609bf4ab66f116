"""Cron schedules, read once for the whole product as cron(8) reads a crontab line.

Heartbeat deadlines (monitoring) and recurring maintenance windows (maintenance) both ask
this module when a schedule runs; nothing else parses cron text. It is built on cronsim, the
library Healthchecks wrote for exactly this and runs in production, and agrees with Debian's
cron(8) (Vixie cron), which a property test checks against a minute-by-minute model of
cron(8)'s main loop:

- Five fields: minute hour day-of-month month day-of-week, with names (JAN, MON), ranges,
  lists, steps and 0 or 7 for Sunday; `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
  `@midnight` and `@hourly` as in crontab(5). cronsim's extensions `L`, `LW`, `5L`, `1#2` and
  `N/step` are accepted too (cron(8) has none of them).
- Day-of-month and day-of-week: when either field starts with `*` a day must match both,
  otherwise either (crontab(5): `0 3 */2 * 1-5` is odd days that are weekdays).
- Times are wall-clock times in the schedule's time zone. Around a DST change cron(8) treats
  "fixed-time" lines (neither the minute nor the hour field starts with `*`) differently
  from "wildcard" lines: a fixed-time run that falls into the hour the clock skips runs at the
  end of the gap, and one that falls into the hour the clock repeats runs once, in the first
  pass; a wildcard line runs at each wall-clock minute that matches and exists, so it skips
  the gap and runs in both passes of a repeated hour.
- Refused, each with a one-line reason: a 6- or 7-field line (seconds or years; cronsim would
  read a sixth field as seconds, croniter as the last one), `@reboot` (no time to expect a run
  at), and a line that never fires (`0 0 30 2 *`).

Where cronsim, used directly, would disagree with cron(8), `runs()` corrects it; see
docs/monitoring.md ("Cron schedules") for these and every deliberate difference.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator

from cronsim import CronSim, CronSimError

UTC = dt.timezone.utc

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_RANGES = {
    "minute": "0-59", "hour": "0-23", "day-of-month": "1-31 (or L, LW)", "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 or SUN-SAT (0 and 7 are Sunday; also 5L, 1#2)",
}
_EXAMPLE = "e.g. '0 3 * * *' for 03:00 every day"
# Any date from which to look for a first run when checking that a line ever fires: a line
# with no year field repeats within 28 years, or never runs at all.
_PROBE_FROM = dt.datetime(2000, 1, 1)
_HORIZON = dt.timedelta(days=50 * 366)  # as cronsim: past it a line is taken never to run
_SAMPLE = dt.timedelta(hours=12)
_SECOND = dt.timedelta(seconds=1)


class CronInvalid(ValueError):
    """A cron line that cannot be used; str() is one line saying what to write instead."""


@functools.lru_cache(maxsize=4096)
def check(expr: str) -> str:
    """The five fields `expr` stands for (aliases expanded, spaces normalised).

    Raises CronInvalid with one line naming the field and the fix for anything cron(8) would
    not run: a wrong field count, a value out of range, `@reboot`, a line that never fires.
    """
    text = " ".join(str(expr).split())
    if not text:
        raise CronInvalid(f"the cron line is empty; write five fields, {_EXAMPLE}")
    if text.startswith("@"):
        alias = text.lower()
        if alias == "@reboot":
            raise CronInvalid("cron '@reboot' has no time at which a run is due; give the job a period "
                              "(e.g. period: 1d) or a five-field schedule")
        if alias not in ALIASES:
            raise CronInvalid(f"cron {expr!r} is not a known shortcut; use one of {', '.join(ALIASES)} "
                              f"or five fields, {_EXAMPLE}")
        return ALIASES[alias]
    parts = text.split(" ")
    if len(parts) in (6, 7):
        raise CronInvalid(
            f"cron {expr!r} has {len(parts)} fields; write the five of crontab(5) (minute hour day-of-month "
            "month day-of-week): seconds and years are not supported")
    if len(parts) != 5:
        raise CronInvalid(f"cron {expr!r} has {len(parts)} field{'s' if len(parts) != 1 else ''}; "
                          f"write five fields (minute hour day-of-month month day-of-week), {_EXAMPLE}")
    for index, field in enumerate(_FIELDS):
        probe = ["*"] * 5
        probe[index] = parts[index]
        try:
            CronSim(" ".join(probe), _PROBE_FROM)
        except CronSimError:
            raise CronInvalid(f"cron {expr!r}: the {field} field {parts[index]!r} is not valid; "
                              f"write a value, range, list or step within {_RANGES[field]}") from None
    try:
        it = CronSim(text, _PROBE_FROM)
    except CronSimError:
        # Every field is valid alone: cronsim refuses a day-of-month no chosen month has.
        raise CronInvalid(f"cron {expr!r} never fires: no month it names has day {parts[2]!r}; "
                          "pick a day the month has (or L for its last day)") from None
    try:
        next(it)
    except StopIteration:
        raise CronInvalid(f"cron {expr!r} never fires: no date matches both its day-of-month {parts[2]!r} "
                          f"and its day-of-week {parts[4]!r}; change one of them") from None
    return text


def is_wildcard(expr: str) -> bool:
    """True for a "wildcard" line in cron(8)'s sense (the minute or hour field starts with `*`,
    or `@hourly`): around a DST change it follows the wall clock; see the module docstring."""
    minute, hour, *_ = check(expr).split(" ")
    return minute.startswith("*") or hour.startswith("*")


def runs(expr: str, *, after: dt.datetime, timezone: str) -> Iterator[dt.datetime]:
    """The instants (aware, UTC) at which cron(8) runs `expr` in `timezone`, strictly after
    `after`, in order, for ever. Raises CronInvalid as `check` does."""
    fields = check(expr)
    zone = _zone(timezone)
    after = after.astimezone(UTC)
    if is_wildcard(fields):
        yield from _wall_clock_runs(fields, after, zone)
        return
    it = CronSim(fields, after.astimezone(zone))
    last = after
    for candidate in it:
        at = candidate.astimezone(UTC)
        # For a fixed-time line cronsim counts in naive wall time: started inside the second
        # pass of a repeated hour it offers that hour's first pass again, which has passed.
        if at <= last:
            continue
        last = at
        yield at


def next_run(expr: str, *, after: dt.datetime, timezone: str) -> dt.datetime | None:
    """The first instant (aware, UTC) strictly after `after` at which cron(8) runs `expr`.

    None only past cronsim's 50-year horizon, which a line `check` accepts never reaches.
    """
    return next(runs(expr, after=after, timezone=timezone), None)


def _zone(name: str) -> dt.tzinfo:
    # UTC as datetime's own timezone: cronsim then skips its DST handling altogether.
    return UTC if name in ("UTC", "Etc/UTC") else zoneinfo.ZoneInfo(name)


def _wall_clock_runs(fields: str, after: dt.datetime, zone: dt.tzinfo) -> Iterator[dt.datetime]:
    """A wildcard line's runs: every real minute whose wall-clock time in `zone` matches.

    Between two changes of the zone's UTC offset the wall clock is the real time plus a constant,
    so cronsim counts in naive wall time there (exact, and cheaper than its own DST handling);
    each change starts a new stretch at the first instant of the new offset. cronsim's aware
    mode steps hours by 3600 s from a wall-clock :00, which a 30-minute change (Lord Howe)
    leaves at :30 for the rest of the day.
    """
    start = frm = after  # the current stretch begins at `start`; runs are strictly after `frm`
    horizon = after + _HORIZON
    while start < horizon:
        offset = start.astimezone(zone).utcoffset() or dt.timedelta(0)
        change = None
        for wall in CronSim(fields, (frm + offset).replace(tzinfo=None)):
            at = (wall - offset).replace(tzinfo=UTC)
            change = _first_change(zone, start, at)
            if change is not None:
                break
            yield at
            start = at
        if change is None:
            return  # cronsim's own 50-year horizon
        start, frm = change, change - _SECOND


def _first_change(zone: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> dt.datetime | None:
    """The first instant in (start, end] at which `zone`'s UTC offset differs from just before it."""
    if zone is UTC:
        return None
    for year in range(start.year, end.year + 1):
        changes = _changes(zone, year)
        index = bisect.bisect_right(changes, start)
        if index < len(changes):
            return changes[index] if changes[index] <= end else None
    return None


@functools.lru_cache(maxsize=1024)
def _changes(zone: dt.tzinfo, year: int) -> tuple[dt.datetime, ...]:
    """The instants in (1 Jan `year`, 1 Jan `year + 1`] (UTC, to the second) at which `zone`'s
    UTC offset changes. zoneinfo has no public list of transitions, so the offset is sampled
    every 12 hours and each change bisected: no two changes in the time-zone database are less
    than four days apart."""
    def offset(at: dt.datetime) -> dt.timedelta | None:
        return at.astimezone(zone).utcoffset()

    out = []
    at, end = dt.datetime(year, 1, 1, tzinfo=UTC), dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    before = offset(at)
    while at < end:
        step_end = min(at + _SAMPLE, end)
        after = offset(step_end)
        if after != before:
            low, high = at, step_end  # offset(low) == before, offset(high) != before
            while high - low > _SECOND:
                middle = low + (high - low) // 2
                middle = middle.replace(microsecond=0)
                if offset(middle) == before:
                    low = middle
                else:
                    high = middle
            out.append(high)
        at, before = step_end, after
    return tuple(out)
