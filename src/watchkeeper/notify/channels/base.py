"""What every channel implements, and the one error it raises."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from watchkeeper.notify.schemas import Message

SecretLookup = Callable[[str], "str | None"]


class DeliveryError(Exception):
    """A send failed. `retryable` says whether trying again can help (timeout: yes; a 401 or
    a rejected recipient: no). `response` keeps what the other side said."""

    def __init__(self, message: str, *, retryable: bool, response: str | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.response = response


@dataclasses.dataclass(frozen=True)
class Sent:
    response: str


class Channel(Protocol):
    kind: ClassVar[str]
    # Whether a message whose send was interrupted (worker died mid-send, outcome unknown) may
    # be sent again. True only where the receiver can drop the duplicate by idempotency key.
    resend_unconfirmed: ClassVar[bool]

    def send(self, settings: Any, message: Message, *, key: str, secret: SecretLookup) -> Sent: ...


def need_secret(secret: SecretLookup, name: str, what: str) -> str:
    value = secret(name)
    if not value:
        raise DeliveryError(f"environment variable {name} (the {what}) is not set on this worker; set it and retry", retryable=False)
    return value
