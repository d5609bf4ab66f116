"""Human durations ("90s", "15m", "1h30m", "7d") used across config and the CLI."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse(text: str | int | float | dt.timedelta) -> dt.timedelta:
    """Parse "1h30m" style text (or seconds as a number) into a timedelta.

    Raises ValueError with a message that shows the accepted forms.
    """
    if isinstance(text, dt.timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError("a duration cannot be true/false; write e.g. 30s, 5m, 1h, 7d")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return dt.timedelta(seconds=text)
    raw = str(text).strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 5m, 1h30m, 7d")
    return dt.timedelta(seconds=total)


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
