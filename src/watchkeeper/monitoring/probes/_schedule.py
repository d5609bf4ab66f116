"""Probe slot arithmetic (pure). A monitor checked every `interval` has slots at
`k * interval + phase` (epoch milliseconds). The phase is a stable hash of the monitor's name,
so 10,000 monitors with the same interval spread evenly over it instead of all firing at :00,
and every worker process computes the same slots without talking to the others.
"""

from __future__ import annotations

import hashlib


def phase_ms(name: str, interval_ms: int) -> int:
    """Jitter: where in each interval this monitor's slots fall, stable across processes."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return digest % max(interval_ms, 1)


def first_slot_at_or_after(now_ms: int, *, interval_ms: int, phase: int) -> int:
    """The earliest slot >= now."""
    k = -((phase - now_ms) // interval_ms)  # ceil((now - phase) / interval)
    return k * interval_ms + phase


def next_due_after_claim(due_ms: int, *, interval_ms: int, now_ms: int) -> int:
    """The due time a claim leaves behind (mirrors the SQL in runner.claim): one interval on,
    or, when the stream fell behind by more than an interval, the first slot after now."""
    nxt = due_ms + interval_ms
    if nxt > now_ms:
        return nxt
    return due_ms + interval_ms * ((now_ms - due_ms) // interval_ms + 1)
