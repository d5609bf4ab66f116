"""Heartbeat deadlines (pure): when a missing ping turns a heartbeat monitor down."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from croniter import croniter


def next_expected(last_ping: dt.datetime, *, period: dt.timedelta | None, cron: str | None, timezone: str) -> dt.datetime:
    """When the next success ping is due after one at `last_ping`."""
    if cron:
        zone = zoneinfo.ZoneInfo(timezone)
        local = last_ping.astimezone(zone)
        nxt = croniter(cron, local).get_next(dt.datetime)
        if nxt.tzinfo is None:
            nxt = nxt.replace(tzinfo=zone)
        return nxt.astimezone(dt.timezone.utc)
    assert period is not None
    return last_ping + period


def deadline(
    *, last_ping: dt.datetime | None, last_start: dt.datetime | None, period: dt.timedelta | None,
    cron: str | None, timezone: str, grace: dt.timedelta,
) -> dt.datetime | None:
    """The moment the monitor goes down unless a success ping arrives first.

    None before the first ping: a heartbeat that never started does not page (it shows as
    pending in the UI). After a start signal the job must report success within the grace time.
    """
    if last_ping is None and last_start is None:
        return None
    candidates = []
    if last_ping is not None:
        candidates.append(next_expected(last_ping, period=period, cron=cron, timezone=timezone) + grace)
    if last_start is not None and (last_ping is None or last_start > last_ping):
        candidates.append(last_start + grace)
    return min(candidates)


def valid_cron(expr: str) -> bool:
    return croniter.is_valid(expr)
