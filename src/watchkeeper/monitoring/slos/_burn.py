"""Error budgets and multi-window, multi-burn-rate alerts (pure). The arithmetic is explained
in docs/slos.md.

burn rate = (bad / total over a window) / (1 - target). A burn rate of 1 spends exactly the
whole budget over the SLO window; 14.4 over 1 h spends 14.4 × 1 h / 720 h = 2 % of a 30-day
budget in that hour. Each alert needs both its long and its short window above the factor:
the long window proves the burn is significant, the short one that it is still happening
(so the alert resolves soon after the burn stops).
"""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class BurnAlert:
    name: str  # stable id stored with the alert state
    severity: str  # page | ticket
    factor: float
    long: dt.timedelta
    short: dt.timedelta

    @property
    def windows(self) -> tuple[dt.timedelta, dt.timedelta]:
        return self.long, self.short

    def budget_share(self, slo_window: dt.timedelta) -> float:
        """Share of the whole error budget spent when the long window burns at `factor`."""
        return self.factor * self.long / slo_window


POLICY: tuple[BurnAlert, ...] = (
    BurnAlert("page-1h", "page", 14.4, dt.timedelta(hours=1), dt.timedelta(minutes=5)),
    BurnAlert("page-6h", "page", 6.0, dt.timedelta(hours=6), dt.timedelta(minutes=30)),
    BurnAlert("ticket-3d", "ticket", 1.0, dt.timedelta(days=3), dt.timedelta(hours=6)),
)

WINDOWS: tuple[dt.timedelta, ...] = tuple(sorted({w for a in POLICY for w in a.windows}))


def error_ratio(good: float, total: float) -> float | None:
    """Share of bad events; None when there were no events (no data is not an outage)."""
    if total <= 0:
        return None
    return max(0.0, min(1.0, (total - good) / total))


def burn_rate(good: float, total: float, *, target_percent: float) -> float | None:
    ratio = error_ratio(good, total)
    if ratio is None:
        return None
    budget = 1 - target_percent / 100
    if budget <= 0:
        return float("inf") if ratio > 0 else 0.0
    return ratio / budget


def budget_remaining(good: float, total: float, *, target_percent: float) -> float | None:
    """Share of the window's error budget still unspent (negative when overspent)."""
    ratio = error_ratio(good, total)
    if ratio is None:
        return None
    budget = 1 - target_percent / 100
    if budget <= 0:
        return 0.0 if ratio == 0 else -float("inf")
    return 1 - ratio / budget


def evaluate(
    sums: dict[dt.timedelta, tuple[float, float]], *, target_percent: float
) -> dict[str, tuple[bool, float | None, float | None]]:
    """For each alert in POLICY: (firing, long-window burn, short-window burn).

    `sums` maps each window in WINDOWS to (good, total) events in it.
    """
    out = {}
    for alert in POLICY:
        long_b = burn_rate(*sums.get(alert.long, (0.0, 0.0)), target_percent=target_percent)
        short_b = burn_rate(*sums.get(alert.short, (0.0, 0.0)), target_percent=target_percent)
        firing = long_b is not None and short_b is not None and long_b > alert.factor and short_b > alert.factor
        out[alert.name] = (firing, long_b, short_b)
    return out
