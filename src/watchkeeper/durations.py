"""Human durations ("90s", "15m", "1h30m", "7d") used across config and the CLI."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
# The longest duration anything in Watchkeeper accepts (silences, maintenance, drills, monitor
# intervals, retention...): ten years. Beyond it "now + duration" would leave the calendar
# (year 9999) and fail deep inside a service; here it is one line naming the limit.
MAX = dt.timedelta(days=3650)
MAX_TEXT = "3650d"


def parse(text: str | int | float | dt.timedelta) -> dt.timedelta:
    """Parse "1h30m" style text (or seconds as a number) into a timedelta.

    Raises ValueError with a message that shows the accepted forms.
    """
    if isinstance(text, dt.timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError("a duration cannot be true/false; write e.g. 30s, 5m, 1h, 7d")
    if isinstance(text, (int, float)):
        if text != text or text in (float("inf"), float("-inf")):
            raise ValueError("a duration must be a finite number of seconds; write e.g. 30s, 5m, 1h, 7d")
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return _bounded(float(text), str(text))
    raw = str(text).strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise ValueError(f"{shown!r} is not a duration; write e.g. 30s, 5m, 1h30m, 7d")
    return _bounded(total, raw)


def _bounded(seconds: float, shown: str) -> dt.timedelta:
    if seconds > MAX.total_seconds():  # also catches inf from a very long number
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ValueError(f"{shown!r} is longer than the longest duration accepted ({MAX_TEXT}); use a shorter one")
    return dt.timedelta(seconds=seconds)


def format(delta: dt.timedelta) -> str:
    """Shortest exact text for a duration: 5400s → "1h30m"."""
    seconds = delta.total_seconds()
    if seconds == 0:
        return "0s"
    out = []
    remaining = int(seconds)
    frac = seconds - remaining
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            out.append(f"{count}{unit}")
    if frac:
        out.append(f"{round(frac * 1000)}ms")
    return "".join(out)


def _validate(value: Any) -> dt.timedelta:
    return parse(value)


Duration = Annotated[dt.timedelta, BeforeValidator(_validate), PlainSerializer(format, return_type=str, when_used="json")]
