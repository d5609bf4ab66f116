"""Waiting in tests: on a condition, with a deadline, never a fixed sleep (issue 8 item 12).

A fixed sleep is too short on a loaded machine and too long on a quiet one; a wait on the
condition the test needs returns as soon as it holds and fails, naming what it waited for,
only when the deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Call `check` until it returns something truthy, and return that. Fails after `timeout`
    seconds with "timed out after Ns waiting for <what>" (and the last value seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {value!r})")
        time.sleep(interval)
