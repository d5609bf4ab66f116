"""Alert sources: one parser per payload format, each with real sample payloads beside it.

SOURCES maps a source kind to `parse(data) -> list[AlertIn]`; parsers raise InvalidInput
naming the offending field (e.g. `alerts[3].labels: labels need an 'alertname'`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from watchkeeper.alerting.schemas import AlertIn
from watchkeeper.alerting.sources import alertmanager, generic, grafana
from watchkeeper.errors import InvalidInput
from watchkeeper.validation import first_problem

SOURCES: dict[str, Callable[[Any], list[AlertIn]]] = {
    "api": generic.parse,
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
}


def invalid(exc: ValidationError, *, prefix: str = "") -> InvalidInput:
    """One line naming the first bad field, in the payload's own terms."""
    problem = first_problem(exc.errors())
    loc = prefix
    for part in problem.loc:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return InvalidInput(problem.line(loc), field=loc or None, code="alert.invalid_payload")
