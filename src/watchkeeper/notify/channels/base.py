"""What every channel implements, and the one error it raises."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress
from watchkeeper.notify.schemas import Message

SecretLookup = Callable[[str], "str | None"]
# Called by a channel with a SendStage value as the send goes: "transmitting" right before the
# first byte that could make the receiver act on the message, "accepted" once it confirmed. It
# commits before it returns; if it raises, the channel must not go on (nothing was handed over).
Progress = Callable[[str], None]


def no_progress(stage: str) -> None:
    """For sends outside the outbox (tests, tools): progress is not recorded."""


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
    """`repeat`: this message is sent again after an attempt whose outcome is unknown; mark it
    as a possible duplicate where the channel can (a header, a prefix). `egress`: the policy
    every connection to an address a user configured must obey (watchkeeper.egress)."""

    kind: ClassVar[str]

    def send(self, settings: Any, message: Message, *, key: str, secret: SecretLookup, progress: Progress = no_progress,
             repeat: bool = False, egress: Egress = DEFAULT_EGRESS) -> Sent: ...


def need_secret(secret: SecretLookup, name: str, what: str) -> str:
    value = secret(name)
    if not value:
        raise DeliveryError(f"environment variable {name} (the {what}) is not set on this worker; set it and retry", retryable=False)
    return value
