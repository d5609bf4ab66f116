"""Events maintenance windows publish: alerting re-applies suppression when a window changes."""

from __future__ import annotations

import dataclasses

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class WindowChanged(Event):
    """A window was created, changed or cancelled; `service` is the one it covers (None: by matchers only)."""

    name: str
    service: str | None
