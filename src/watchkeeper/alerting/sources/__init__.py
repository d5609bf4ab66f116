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

SOURCES: dict[str, Callable[[Any], list[AlertIn]]] = {
    "api": generic.parse,
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
}


def invalid(exc: ValidationError, *, prefix: str = "") -> InvalidInput:
    """One line naming the first bad field, in the payload's own terms."""
    err = exc.errors()[0]
    loc = prefix
    for part in err["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field; remove it or check its spelling"
    elif err["type"] == "missing":
        msg = "field required"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return InvalidInput(f"{loc}: {msg}{tail}", field=loc or None, code="alert.invalid_payload")
