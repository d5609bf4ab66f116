"""When a freeze or change window is in force (pure): one-off (start + duration) or recurring
(a cron line read by watchkeeper.cron, Debian cron semantics, in the freeze's time zone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from watchkeeper import cron as crontab

_SECOND = dt.timedelta(seconds=1)


def starts(*, starts_at: dt.datetime | None, cron: str | None, tz: str, until: dt.datetime | None,
           after: dt.datetime, before: dt.datetime) -> Iterator[dt.datetime]:
    """Start instants (UTC) in [after, before), in order."""
    if cron:
        for start in crontab.runs(cron, after=after - _SECOND, timezone=tz):
            if start >= before or (until is not None and start > until):
                return
            yield start
        return
    if starts_at is not None and after <= starts_at < before and (until is None or starts_at <= until):
        yield starts_at


def active(*, starts_at: dt.datetime | None, cron: str | None, tz: str, until: dt.datetime | None,
           duration: dt.timedelta, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The occurrence (start, end) covering `at`, if any: start <= at < end."""
    # The first start in (at - duration, at] covers `at` (an earlier one has ended), so one
    # step of the iterator answers, however often the line fires.
    for start in starts(starts_at=starts_at, cron=cron, tz=tz, until=until, after=at - duration, before=at + _SECOND):
        if start <= at < start + duration:
            return (start, start + duration)
    return None


def next_start(*, starts_at: dt.datetime | None, cron: str | None, tz: str, until: dt.datetime | None,
               after: dt.datetime, horizon: dt.timedelta = dt.timedelta(days=400)) -> dt.datetime | None:
    return next(starts(starts_at=starts_at, cron=cron, tz=tz, until=until, after=after, before=after + horizon), None)


def rrule_or_cron_starts(*, starts_at: dt.datetime, rrule: str | None, cron: str | None, tz: str, until: dt.datetime | None,
                         after: dt.datetime, before: dt.datetime) -> Iterator[dt.datetime]:
    """Starts (UTC) in [after, before) of a window read as maintenance windows are: one-off at
    `starts_at`, or recurring by an RFC 5545 RRULE or a cron line from `starts_at` on."""
    import zoneinfo

    from dateutil import rrule as _rrule

    if until is not None:
        before = min(before, until)
    if rrule:
        zone = zoneinfo.ZoneInfo(tz)
        rule = _rrule.rrulestr(rrule, dtstart=starts_at.astimezone(zone))
        for start in rule.between(after.astimezone(zone), before.astimezone(zone), inc=True):
            if start < before:
                yield start.astimezone(dt.UTC)
        return
    if cron:
        for start in crontab.runs(cron, after=max(after, starts_at) - _SECOND, timezone=tz):
            if start >= before:
                return
            yield start
        return
    if after <= starts_at < before:
        yield starts_at
