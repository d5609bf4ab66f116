"""Heartbeat deadlines (pure): when a missing ping turns a heartbeat monitor down."""

from __future__ import annotations

import datetime as dt

from watchkeeper import cron as crontab


def next_expected(last_ping: dt.datetime, *, period: dt.timedelta | None, cron: str | None, timezone: str) -> dt.datetime | None:
    """When the next success ping is due after one at `last_ping`: `period` later, or the
    job's next run after the ping as cron(8) would start it (watchkeeper.cron)."""
    if cron:
        # None only past cronsim's 50-year horizon, which a validated schedule never reaches.
        return crontab.next_run(cron, after=last_ping, timezone=timezone)
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
        expected = next_expected(last_ping, period=period, cron=cron, timezone=timezone)
        if expected is not None:
            candidates.append(expected + grace)
    if last_start is not None and (last_ping is None or last_start > last_ping):
        candidates.append(last_start + grace)
    return min(candidates, default=None)
