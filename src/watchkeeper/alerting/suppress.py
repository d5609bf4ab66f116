"""The Suppressor port: anything that can say "do not send this alert now, because …".

Alerting owns the interface; silences and inhibition (here) and maintenance windows (the
`maintenance` domain) implement it without knowing each other, and `app.wire()` registers
them — the shape of Alertmanager's `notify/mute.go`. A source is loaded once per evaluation
(`load(session, at)`) so a batch of alerts costs one query per source, not one per alert.

`at_ingest` sources are cheap (a handful of active rows) and also run when alerts arrive, so
the UI shows "silenced" or "in maintenance" at once; the others (inhibition, which needs all
firing alerts) run when a group flushes, right before anything would be sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Protocol

from sqlalchemy.orm import Session


@dataclasses.dataclass(frozen=True)
class Reason:
    kind: str  # silenced | inhibited | maintenance
    ref: str  # what suppresses: "silence:12", "alert:<fingerprint>", "maintenance:db-upgrade"
    message: str  # one line for people: "inhibited by DatabaseDown on db (a dependency of checkout)"


class ReasonLike(Protocol):
    kind: str
    ref: str
    message: str


class Suppressor(Protocol):
    """Implementers return any object with kind, ref and message (e.g. a Reason), or None."""

    def is_suppressed(self, labels: Mapping[str, str], *, fingerprint: str, at: dt.datetime) -> ReasonLike | None: ...


SuppressorSource = Callable[[Session, dt.datetime], Suppressor]


@dataclasses.dataclass(frozen=True)
class _Registered:
    name: str
    source: SuppressorSource
    at_ingest: bool


_sources: dict[str, _Registered] = {}


def register(name: str, source: SuppressorSource, *, at_ingest: bool) -> None:
    """Add (or replace) a suppressor source. Evaluation order is registration order."""
    _sources[name] = _Registered(name, source, at_ingest)


DRILL_ALERTNAME = "WatchkeeperFireDrill"


def is_drill(labels: Mapping[str, str]) -> bool:
    """A fire drill's alert: never silenced, inhibited or held back by a maintenance window."""
    return labels.get("alertname") == DRILL_ALERTNAME and "drill" in labels


def unregister(name: str) -> None:
    _sources.pop(name, None)


def registered() -> list[str]:
    return list(_sources)


class Chain:
    """The loaded suppressors for one evaluation; the first that answers wins."""

    def __init__(self, session: Session, at: dt.datetime, *, ingest_only: bool):
        self.at = at
        self._items = [r.source(session, at) for r in _sources.values() if r.at_ingest or not ingest_only]

    def may_suppress(self, service: str | None) -> bool:
        """False when no loaded suppressor could apply to alerts of `service` (no silence, no
        window, no rule, no critical upstream): a flush then skips reading every label set.
        Suppressors opt in with a `may_suppress(service) -> bool` method; without it, True."""
        return any(getattr(item, "may_suppress", lambda _s: True)(service) for item in self._items)

    def check(self, labels: Mapping[str, str], *, fingerprint: str) -> ReasonLike | None:
        if is_drill(labels):
            return None  # a fire drill tests the real route: nothing may mute it (a drill in maintenance still pages)
        for item in self._items:
            reason = item.is_suppressed(labels, fingerprint=fingerprint, at=self.at)
            if reason is not None:
                return reason
        return None
