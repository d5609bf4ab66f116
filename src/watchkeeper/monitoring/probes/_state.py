"""Up/down decisions (pure): N consecutive failures per location, k-of-n locations per monitor."""

from __future__ import annotations

import dataclasses
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"  # not enough results yet
    UP = "up"
    DOWN = "down"
    PAUSED = "paused"


@dataclasses.dataclass(frozen=True)
class LocationState:
    status: Status = Status.PENDING
    consecutive_failures: int = 0


def after_result(state: LocationState, *, ok: bool, failures_before_down: int) -> LocationState:
    """One result at one location. A success is up at once; a location is down only after
    `failures_before_down` failures in a row (one blip does not page)."""
    if ok:
        return LocationState(Status.UP, 0)
    failures = state.consecutive_failures + 1
    if failures >= failures_before_down:
        return LocationState(Status.DOWN, failures)
    return LocationState(state.status, failures)


def monitor_status(locations: list[Status], *, quorum: int) -> Status:
    """The monitor is down when at least `quorum` locations say down; up when fewer do and at
    least one location has seen it up; pending while no location has decided."""
    down = sum(1 for s in locations if s == Status.DOWN)
    if down >= max(quorum, 1):
        return Status.DOWN
    if any(s == Status.UP for s in locations):
        return Status.UP
    # No location has seen it up, and too few (maybe none) agree it is down.
    return Status.PENDING
