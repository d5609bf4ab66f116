"""A brute-force model of Debian's cron(8), minute by minute, to check watchkeeper.cron against.

It shares no code with cronsim. Fields are parsed as Vixie cron's entry.c parses them (numbers,
names, ranges, lists, `*`, steps), and time is simulated as cron.c's main loop does it: cron
keeps a "virtual" wall-clock minute and, each real minute, compares the wall clock with it —

- one minute later: run every job that matches the new minute;
- 2-5 minutes later (woke up late): run every job for each minute missed;
- 6 minutes to 3 hours later (DST began): run wildcard jobs for the current minute, then
  fixed-time jobs for every minute skipped (they all run now);
- up to 3 hours earlier (DST ended): run wildcard jobs for the current minute only, and leave
  the virtual clock alone until the wall clock catches up (fixed-time jobs do not run twice);
- anything else: jump, and run every job that matches the current minute.

A job is a wildcard job when its minute or its hour field starts with `*`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

UTC = dt.timezone.utc
MINUTE = dt.timedelta(minutes=1)
_NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _number(text: str, field: int) -> int:
    names = _NAMES.get(field)
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if field == 3 else 0)
    return int(text)


def _field(text: str, field: int) -> set[int]:
    low, high = _BOUNDS[field]
    out: set[int] = set()
    for term in text.split(","):
        step = 1
        if "/" in term:
            term, step_text = term.split("/")
            step = int(step_text)
        if term == "*":
            first, last = low, high
        elif "-" in term:
            a, b = term.split("-")
            first, last = _number(a, field), _number(b, field)
        else:
            first = last = _number(term, field)
        out.update(range(first, last + 1, step))
    if field == 4 and 7 in out:
        out.add(0)
    return out


@dataclasses.dataclass(frozen=True)
class Entry:
    minutes: set[int]
    hours: set[int]
    days: set[int]
    months: set[int]
    weekdays: set[int]
    day_and: bool
    wildcard: bool

    @classmethod
    def parse(cls, line: str) -> "Entry":
        parts = line.split()
        sets = [_field(p, i) for i, p in enumerate(parts)]
        return cls(*sets, day_and=parts[2].startswith("*") or parts[4].startswith("*"),
                   wildcard=parts[0].startswith("*") or parts[1].startswith("*"))

    def matches(self, wall: dt.datetime) -> bool:
        dom, dow = wall.day in self.days, (wall.isoweekday() % 7) in self.weekdays
        day = (dom and dow) if self.day_and else (dom or dow)
        return wall.minute in self.minutes and wall.hour in self.hours and wall.month in self.months and day


def _wall_minute(at: dt.datetime, zone: dt.tzinfo) -> int:
    """cron.c's clockTime: minutes since the epoch of the local wall clock."""
    offset = at.astimezone(zone).utcoffset()
    return int((at + offset).timestamp()) // 60


def _wall(minute: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(minutes=minute)


def runs(line: str, *, timezone: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The real instants (UTC) in (start, end] at which cron(8), started at `start`, runs `line`."""
    entry = Entry.parse(line)
    zone = zoneinfo.ZoneInfo(timezone)
    at = start.astimezone(UTC).replace(second=0, microsecond=0)
    virtual = _wall_minute(at, zone)
    out: list[dt.datetime] = []

    def find(minute: int, *, wild: bool, fixed: bool) -> None:
        if (wild if entry.wildcard else fixed) and entry.matches(_wall(minute)):
            if not out or out[-1] != at:
                out.append(at)

    while at < end:
        at += MINUTE
        running = _wall_minute(at, zone)
        diff = running - virtual
        if diff == 1:
            virtual = running
            find(virtual, wild=True, fixed=True)
        elif 1 < diff <= 5:
            while virtual < running:
                virtual += 1
                find(virtual, wild=True, fixed=True)
        elif 5 < diff <= 180:
            find(running, wild=True, fixed=False)
            while virtual < running:
                virtual += 1
                find(virtual, wild=False, fixed=True)
        elif -180 < diff <= 0:
            find(running, wild=True, fixed=False)
        else:
            virtual = running
            find(running, wild=True, fixed=True)
    return out
