"""The port through which built-in operations and performance checks are measured.

Those checks need evidence other domains own (monitors, alert drills, runbooks, SLO data).
The consumer owns the interface: a measure is `(session, service) -> Evidence`, registered
under a check id of `_suites.SUITES` by `app.wire()`. An unwired measure reads as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.evidence import Evidence

Measure = Callable[[Session, Any], Evidence]

_measures: dict[str, Measure] = {}

# Shown while nothing measures a check yet.
MISSING = {
    "monitors_present": "no monitors are measured yet (monitoring is not installed)",
    "alerting_routed": "no alert route is proven yet (the alert pipeline is not installed)",
    "runbooks_lint_clean": "no runbooks are tracked yet",
    "probe_latency": "no probe latency is measured yet (monitoring is not installed)",
    "slo_attainment": "no SLO attainment is measured yet (monitoring is not installed)",
}


def register_measure(check_id: str, measure: Measure) -> None:
    _measures[check_id] = measure


def unregister_measure(check_id: str) -> None:
    _measures.pop(check_id, None)


def measure(session: Session, check_id: str, service) -> Evidence:
    fn = _measures.get(check_id)
    if fn is None:
        return Evidence.unknown(MISSING.get(check_id, f"nothing measures '{check_id}' yet"))
    return fn(session, service)


def snapshot() -> dict[str, Measure]:
    return dict(_measures)


def restore(state: dict[str, Measure]) -> None:
    _measures.clear()
    _measures.update(state)
