"""What a job handler gets besides its session and payload."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.config import Settings


@dataclasses.dataclass
class JobContext:
    settings: Settings
    session_factory: Callable[[], Session]
    job_id: int | None
    attempt: int
    # The running worker process's `worker_process` id, for claims the handler makes itself
    # (the outbox rows a delivery job sends); None outside `Worker.run`.
    owner: str | None = None
    actor: Actor = dataclasses.field(default_factory=lambda: Actor.system("worker", "worker"))
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)


class RetryLater(Exception):
    """Raise from a handler to retry with backoff; `retryable=False` sends the job to dead."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable
