"""Bulk statements of the ingest hot path.

On PostgreSQL each statement has one fixed text, so psycopg prepares it once and a 100-alert
batch is one round trip per table, instead of a many-VALUES statement whose text (and parse
cost) changes with every batch size. Rows travel as ONE JSON document expanded by
`jsonb_to_recordset`: the C JSON encoder writes it in one call, where per-column arrays
(`unnest`) made psycopg dump every element in Python, escaping each jsonb one — a third of
the writer's time at 700 alerts per transaction. SQLite, where statements are cheap and local, uses plain executemany.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from watchkeeper.alerting.models import Alert, AlertEvent, GroupMember
from watchkeeper.db.engine import is_postgres

_ALERT_COLS = ("fingerprint", "alertname", "status", "state", "state_reason", "state_ref", "labels", "annotations", "source",
               "service", "severity", "generator_url", "starts_at", "ends_at", "first_seen_at", "last_received_at",
               "receive_count", "fired_count", "drill_id")
_ALERT_TYPES = ("text", "text", "text", "text", "text", "text", "jsonb", "jsonb", "text", "text", "text", "text", "timestamptz",
                "timestamptz", "timestamptz", "timestamptz", "int", "int", "int")

_PG_INSERT_ALERTS = text(
    f"INSERT INTO alerting_alert ({', '.join(_ALERT_COLS)}) "
    f"SELECT {', '.join(_ALERT_COLS)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    f"AS r({', '.join(f'{c} {t}' for c, t in zip(_ALERT_COLS, _ALERT_TYPES))}) "
    "ON CONFLICT (fingerprint) DO NOTHING RETURNING id, fingerprint"
)
_PG_EXISTING = text(
    "SELECT id, fingerprint, status, starts_at, ends_at, service, alertname, severity FROM alerting_alert "
    "WHERE fingerprint = ANY(CAST(:fps AS text[])) ORDER BY id FOR NO KEY UPDATE"
)
_PG_REPEATS = text(
    "UPDATE alerting_alert a SET annotations = v.ann, last_received_at = :now, receive_count = a.receive_count + 1 "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id bigint, ann jsonb) WHERE a.id = v.id"
)
_PG_EVENTS = text(
    "INSERT INTO alerting_alert_event (alert_id, at, kind, actor, detail) "
    "SELECT alert_id, at, kind, actor, detail FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    "AS r(alert_id bigint, at timestamptz, kind text, actor text, detail jsonb)"
)
_PG_MEMBERS = text(
    "INSERT INTO alerting_group_member (group_id, alert_id, added_at, notified_status) "
    "SELECT g, a, :now, NULL FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(g bigint, a bigint) ON CONFLICT DO NOTHING"
)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # the same rule as db.types.UTCDateTime
            raise ValueError("naive datetime given to a UTC column; use clock.utcnow()")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _document(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON array for jsonb_to_recordset (datetimes as ISO 8601 with offset)."""
    return json.dumps(rows, default=_json_default, separators=(",", ":"))


def existing(session: Session, fps: list[str]):
    """Rows of these fingerprints, locked (PostgreSQL) in id order. None: use the portable path."""
    if not is_postgres(session):
        return None
    return list(session.execute(_PG_EXISTING, {"fps": fps}))


def insert_alerts(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new alerts; returns fingerprint → id of those actually inserted (a concurrent
    insert of the same fingerprint wins and is missing here)."""
    if is_postgres(session):
        result = session.execute(_PG_INSERT_ALERTS, {"rows": _document([{c: r[c] for c in _ALERT_COLS} for r in rows])})
    else:
        stmt = sqlite.insert(Alert.__table__).on_conflict_do_nothing(index_elements=["fingerprint"])
        result = session.execute(stmt.returning(Alert.__table__.c.id, Alert.__table__.c.fingerprint), rows)
    return {r.fingerprint: r.id for r in result}


def update_repeats(session: Session, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    if is_postgres(session):
        session.execute(_PG_REPEATS, {"rows": _document([{"id": r["b_id"], "ann": r["b_ann"]} for r in rows]), "now": now})
        return
    c = Alert.__table__.c
    session.execute(update(Alert.__table__).where(c.id == bindparam("b_id"))
                    .values(annotations=bindparam("b_ann"), last_received_at=bindparam("b_now"), receive_count=c.receive_count + 1),
                    [{**r, "b_now": now} for r in rows])


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if is_postgres(session):
        session.execute(_PG_EVENTS, {"rows": _document(rows)})
    else:
        session.execute(AlertEvent.__table__.insert(), rows)


def insert_members(session: Session, pairs: list[tuple[int, int]], now: dt.datetime) -> None:
    if is_postgres(session):
        session.execute(_PG_MEMBERS, {"rows": _document([{"g": g, "a": a} for g, a in pairs]), "now": now})
    else:
        session.execute(sqlite.insert(GroupMember.__table__).on_conflict_do_nothing(),
                        [{"group_id": g, "alert_id": a, "added_at": now, "notified_status": None} for g, a in pairs])
