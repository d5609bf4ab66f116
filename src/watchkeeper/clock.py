"""The only place that asks the operating system for the time.

Tests freeze or move time with `freeze()`; production code calls `utcnow()`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

UTC = dt.timezone.utc

_frozen: dt.datetime | None = None


def utcnow() -> dt.datetime:
    """Current time, timezone-aware in UTC."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(UTC)


def set_frozen(at: dt.datetime | None) -> None:
    """Pin the clock to `at` (aware), or release it with None."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("frozen time must be timezone-aware")
    _frozen = at.astimezone(UTC) if at is not None else None


def advance(delta: dt.timedelta) -> dt.datetime:
    """Move a frozen clock forward; returns the new time."""
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    set_frozen(_frozen + delta)
    return utcnow()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    previous = _frozen
    set_frozen(at)
    try:
        yield
    finally:
        set_frozen(previous)


def to_ms(at: dt.datetime) -> int:
    """Epoch milliseconds of an aware datetime (the hot tables store time this way)."""
    return int(round(at.timestamp() * 1000))


def from_ms(ms: int) -> dt.datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=UTC)


def ensure_aware(value: dt.datetime) -> dt.datetime:
    """Treat naive datetimes as UTC (what SQLite hands back) and normalise to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
