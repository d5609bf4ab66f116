"""Which dump files a retention policy keeps: restic's `forget --keep-*` rules applied to files
(the newest file of each of the last N days, ISO weeks, months or years that have one, and the
newest N files). Pure, so it is tested on its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def _bucket(kind: str, at: dt.datetime) -> tuple:
    if kind == "daily":
        return (at.year, at.month, at.day)
    if kind == "weekly":
        iso = at.isocalendar()
        return (iso.year, iso.week)
    if kind == "monthly":
        return (at.year, at.month)
    return (at.year,)


def keep(files: Sequence[tuple[str, dt.datetime]], *, keep_last: int | None = None, keep_daily: int | None = None,
         keep_weekly: int | None = None, keep_monthly: int | None = None, keep_yearly: int | None = None) -> set[str]:
    """The names among `files` (name, taken at) to keep. With no rule set every file is kept."""
    rules = {"daily": keep_daily, "weekly": keep_weekly, "monthly": keep_monthly, "yearly": keep_yearly}
    if keep_last is None and all(v is None for v in rules.values()):
        return {name for name, _ in files}
    newest_first = sorted(files, key=lambda f: (f[1], f[0]), reverse=True)
    kept = {name for name, _ in newest_first[: keep_last or 0]}
    for kind, count in rules.items():
        if not count:
            continue
        seen: list[tuple] = []
        for name, at in newest_first:
            bucket = _bucket(kind, at)
            if bucket in seen:
                continue
            seen.append(bucket)
            kept.add(name)
            if len(seen) == count:
                break
    return kept
