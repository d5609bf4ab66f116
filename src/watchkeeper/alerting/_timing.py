"""Pure group timing (group wait, group interval, repeat interval) — Alertmanager's rules.

- group_wait: a new group waits this long before its first notification, so alerts that
  fire together arrive in one message.
- group_interval: after a notification, changes (new alerts, resolutions) wait at least this
  long before the next one.
- repeat_interval: with no change, a still-firing group is notified again after this long.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable


def next_flush_after_change(
    *, now: dt.datetime, scheduled: dt.datetime | None, last_notified_at: dt.datetime | None,
    group_wait: dt.timedelta, group_interval: dt.timedelta,
) -> dt.datetime:
    """When a group should flush after one of its alerts changed."""
    if last_notified_at is None:
        candidate = now + group_wait if scheduled is None else scheduled
    else:
        candidate = max(now, last_notified_at + group_interval)
    if scheduled is not None and scheduled < candidate:
        return scheduled
    return candidate


def content_hash(firing: Iterable[str], resolved: Iterable[str]) -> str:
    """What a notification said: the firing and resolved fingerprints. Equal hash = no news."""
    blob = ",".join(sorted(firing)) + "|" + ",".join(sorted(resolved))
    return hashlib.sha256(blob.encode()).hexdigest()


def should_notify(
    *, now: dt.datetime, has_content: bool, has_firing: bool, new_hash: str, last_hash: str | None,
    last_notified_at: dt.datetime | None, repeat_interval: dt.timedelta,
) -> bool:
    if not has_content:
        return False
    if new_hash != last_hash:
        return True
    return has_firing and last_notified_at is not None and now >= last_notified_at + repeat_interval
