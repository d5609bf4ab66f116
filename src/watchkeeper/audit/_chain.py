"""Pure hash-chain arithmetic: canonical JSON and the event digest. No database here."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from watchkeeper.db.types import jsonable  # noqa: F401 - re-exported for the audit service

GENESIS = "0" * 64


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


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
