"""Domain events: how a lower domain tells higher ones that something happened.

An event is a frozen dataclass. `publish(session, event)` calls every subscriber of its type
synchronously, inside the publisher's transaction, so the reaction (an alert row, an outbox
row, a queued job) commits or rolls back together with the change that caused it — nothing is
lost between the two, and nothing is half-done. Subscribers must be quick; slow work is queued
as a worker job from the subscriber.

Subscriptions are wired in one place, `app.wire()`; domains never subscribe at import time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of every domain event. Subclasses are frozen dataclasses named in the past tense."""


E = TypeVar("E", bound=Event)
Subscriber = Callable[[Session, Any], None]

_subscribers: dict[type, dict[str, Subscriber]] = defaultdict(dict)


def subscribe(event_type: type[E], handler: Callable[[Session, E], None], *, name: str | None = None) -> None:
    """Register `handler` for `event_type` (and its subclasses). Idempotent by name."""
    key = name or f"{handler.__module__}.{handler.__qualname__}"
    _subscribers[event_type][key] = handler


def unsubscribe(event_type: type, name: str) -> None:
    _subscribers[event_type].pop(name, None)


def subscribers(event_type: type) -> list[Subscriber]:
    out: list[Subscriber] = []
    for klass in event_type.__mro__:
        out.extend(_subscribers.get(klass, {}).values())
    return out


def publish(session: Session, event: Event) -> None:
    """Deliver `event` to its subscribers in the caller's transaction. A subscriber's error
    propagates: the publisher's change is rolled back rather than committed without its effects."""
    for handler in subscribers(type(event)):
        handler(session, event)


# ---------------------------------------------------------------------------- the timeline port


@dataclasses.dataclass(frozen=True)
class ServiceActivity(Event):
    """Something a person or the system did on services, for the timelines that show it.

    This is the port between the domains that act (deploys, runbooks, on-call, backups, flags)
    and the ones that tell the story (incidents): the actor publishes one `ServiceActivity` in
    its own transaction and never imports the incident domain; the incident domain subscribes
    and appends it to the timeline of every open incident on one of `services` (and of
    `incident_id`, when the action was taken from an incident page). Other listeners (the
    change calendar, hand-off notices) may subscribe too.

    `kind` is "<domain>.<what happened>" in the past tense, e.g. "deploy.started",
    "deploy.rolled_back", "runbook.step_ran", "oncall.notified", "oncall.acknowledged".
    `summary` is one line a human reads on the timeline — never a secret, never raw output.
    `link` is a path inside Watchkeeper (e.g. "/deploys/42"). `details` is small JSON-able data.
    """

    kind: str
    services: tuple[str, ...]
    summary: str
    at: dt.datetime
    actor: str | None = None
    link: str | None = None
    incident_id: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
