"""The promotion gate registry: a port that later domains (readiness) plug checks into.

A gate is a callable `(session, service, target) -> list[GateFailure]`. The catalog asks every
registered gate before a promotion; with none registered, only the stage-order rule applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy.orm import Session


@dataclasses.dataclass(frozen=True)
class GateFailure:
    item: str
    reason: str


Gate = Callable[..., list[GateFailure]]

_gates: dict[str, Gate] = {}


def register_gate(name: str, gate: Gate) -> None:
    _gates[name] = gate


def unregister_gate(name: str) -> None:
    _gates.pop(name, None)


def registered() -> list[str]:
    return sorted(_gates)


def evaluate(session: Session, *, service, target) -> list[GateFailure]:
    failures: list[GateFailure] = []
    for name in sorted(_gates):
        failures.extend(_gates[name](session, service=service, target=target))
    return failures
