"""Pure occurrence logic for maintenance windows (one-off, RRULE, cron), timezone-aware."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

from dateutil import rrule as _rrule

from watchkeeper import cron as crontab


def _local(at: dt.datetime, tz: str) -> dt.datetime:
    return at.astimezone(zoneinfo.ZoneInfo(tz))


def check_rrule(text: str, *, start: dt.datetime, tz: str) -> None:
    """Raises ValueError naming the problem when `text` is not an RFC 5545 RRULE."""
    try:
        _rrule.rrulestr(text, dtstart=_local(start, tz))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"rrule {text!r} is not valid ({exc}); write e.g. FREQ=WEEKLY;BYDAY=SU;BYHOUR=2") from None


def check_cron(text: str) -> None:
    """Raises ValueError (watchkeeper.cron.CronInvalid) with one line saying what to write."""
    crontab.check(text)


def occurrence_starts(*, starts_at: dt.datetime, rrule: str | None, cron: str | None, tz: str,
                      after: dt.datetime, before: dt.datetime) -> Iterator[dt.datetime]:
    """Start instants (UTC) of occurrences in [after, before), in order."""
    if rrule:
        rule = _rrule.rrulestr(rrule, dtstart=_local(starts_at, tz))
        for start in rule.between(_local(after, tz), _local(before, tz), inc=True):
            if start < _local(before, tz):
                yield start.astimezone(dt.timezone.utc)
        return
    if cron:
        base = max(after, starts_at) - dt.timedelta(seconds=1)
        for start in crontab.runs(cron, after=base, timezone=tz):
            if start >= before:
                return
            if start >= starts_at:
                yield start
        return
    if after <= starts_at < before:
        yield starts_at


def active_occurrence(*, starts_at: dt.datetime, duration: dt.timedelta, rrule: str | None, cron: str | None, tz: str,
                      until: dt.datetime | None, at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The occurrence (start, end) covering `at`, if any."""
    if until is not None and at >= until:
        return None
    if at < starts_at:
        return None
    if not rrule and not cron:
        end = starts_at + duration
        return (starts_at, end) if at < end else None
    for start in occurrence_starts(starts_at=starts_at, rrule=rrule, cron=cron, tz=tz, after=at - duration, before=at + dt.timedelta(microseconds=1)):
        if start <= at < start + duration:
            return start, start + duration
    return None


def next_occurrence(*, starts_at: dt.datetime, duration: dt.timedelta, rrule: str | None, cron: str | None, tz: str,
                    until: dt.datetime | None, after: dt.datetime, horizon: dt.timedelta = dt.timedelta(days=400)) -> tuple[dt.datetime, dt.datetime] | None:
    for start in occurrence_starts(starts_at=starts_at, rrule=rrule, cron=cron, tz=tz, after=after, before=after + horizon):
        if until is not None and start >= until:
            return None
        return start, start + duration
    return None
