from __future__ import annotations

import dataclasses

from watchkeeper.events import Event


@dataclasses.dataclass(frozen=True)
class SignoffChanged(Event):
    """A sign-off was recorded or revoked."""

    service: str
    checkpoint: str
    action: str  # recorded | revoked
