from __future__ import annotations

import dataclasses

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class ReadinessInputChanged(Event):
    """A waiver or attestation of a service was granted, revoked or changed by config."""

    service: str
    check: str
    action: str
