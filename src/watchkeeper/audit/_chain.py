"""Pure hash-chain arithmetic: canonical JSON and the event digest. No database here."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from typing import Any

from watchkeeper.db.types import jsonable  # noqa: F401 - re-exported for the audit service

GENESIS = "0" * 64


def _numbers(value: Any) -> Any:
    """Numbers as both stores give them back: an integral float is written as the integer
    (PostgreSQL's JSONB returns 1e20 as 100000000000000000000 and -0.0 as 0), other floats as
    Python's shortest repr (JSONB keeps their decimal digits, which read back to the same float)."""
    if isinstance(value, float):
        if value.is_integer():
            return int(decimal.Decimal(repr(value)))  # the digits written, not the binary value
        return value
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers(v) for v in value]
    return value


def canonical(payload: dict) -> bytes:
    """The bytes an event's hash covers: sorted keys, no spaces, numbers in a form that survives
    a round trip through SQLite's JSON text and PostgreSQL's JSONB alike."""
    return json.dumps(_numbers(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def legacy_canonical(payload: dict) -> bytes:
    """The form events were hashed in before numbers were normalised (verify accepts either)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


def matches(prev_hash: str, fields: dict, stored_hash: str) -> bool:
    """Whether an event's stored hash is the digest of its fields, in the current canonical form
    or, for events written before the upgrade, the legacy one."""
    if digest(prev_hash, fields) == stored_hash:
        return True
    return hashlib.sha256(prev_hash.encode() + b"\n" + legacy_canonical(fields)).hexdigest() == stored_hash


def event_fields(
    *, seq: int, at: dt.datetime, actor: str, actor_id: int | None, action: str, target: str,
    source: str, before: Any, after: Any, note: str | None,
) -> dict:
    return {
        "seq": seq,
        "at": at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_id": actor_id,
        "action": action,
        "target": target,
        "source": source,
        "before": before,
        "after": after,
        "note": note,
    }
