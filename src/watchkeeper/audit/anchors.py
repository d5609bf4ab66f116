"""External anchors: copies of each signed checkpoint kept outside the database.

A checkpoint inside the database proves nothing to someone who can rewrite the database: they
can delete it along with the events it covers. Its copy in an append-only file on another disk
(or shipped to a log collector by webhook) survives that, so `audit verify --anchor-file`
detects a full rewrite or a rollback too, as AWS CloudTrail's digest files do. Each anchor is
one JSON line: {"seq", "hash", "at", "key_id", "signature"} — the same signed statement as the
checkpoint row.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import httpx

from watchkeeper.audit.models import AuditCheckpoint
from watchkeeper.errors import InvalidInput

log = logging.getLogger(__name__)
MAX_ANCHORS_BYTES = 256 * 1024 * 1024


def line_of(cp: AuditCheckpoint) -> dict:
    return {"seq": cp.seq, "hash": cp.hash, "at": cp.at.isoformat(), "key_id": cp.key_id, "signature": cp.signature}


def publish(cp: AuditCheckpoint, *, file: Path | None, url: str | None, timeout: float = 5.0) -> list[str]:
    """Append the checkpoint to the anchor file (fsynced) and POST it to the anchor webhook.
    Returns the problems met (logged, never raised: the checkpoint itself is still good)."""
    problems = []
    line = line_of(cp)
    if file is not None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            problems.append(f"cannot append to the audit anchor file {file}: {exc.strerror}")
    if url:
        try:
            r = httpx.post(url, json=line, timeout=timeout)
            if r.status_code >= 300:
                problems.append(f"the audit anchor webhook answered {r.status_code}")
        except httpx.HTTPError as exc:
            problems.append(f"the audit anchor webhook failed: {type(exc).__name__}")
    for problem in problems:
        log.warning("%s (checkpoint at event %s)", problem, cp.seq)
    return problems


def read(file: Path) -> list[dict]:
    """Every anchor in `file`, oldest first. A malformed line is an error naming its line."""
    try:
        if file.stat().st_size > MAX_ANCHORS_BYTES:
            raise InvalidInput(f"{file} is larger than {MAX_ANCHORS_BYTES // (1024 * 1024)} MiB; is it an anchor file?",
                               field="anchor_file")
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the anchor file {file}: {exc.strerror}", field="anchor_file") from None
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            out.append({"seq": int(item["seq"]), "hash": str(item["hash"]), "key_id": str(item["key_id"]),
                        "signature": str(item["signature"]), "line": number})
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(f"{file}:{number}: not an audit anchor line (JSON with seq, hash, key_id, signature)",
                               field="anchor_file") from None
    return out
