"""Statements whose SQL differs between SQLite and PostgreSQL, written once for both stores."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from watchkeeper.db.engine import is_postgres


def dialect_insert(session: Session, table):
    """INSERT for this session's store, which offers ON CONFLICT (both dialects spell it alike)."""
    return postgresql.insert(table) if is_postgres(session) else sqlite.insert(table)


def insert_ignore(session: Session, model, rows: list[dict], index: Sequence[str], *, count_column=None) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on either store. With `count_column` returns how many
    rows were inserted (via RETURNING, which reports only inserted rows); otherwise -1."""
    if not rows:
        return 0
    stmt = dialect_insert(session, model).on_conflict_do_nothing(index_elements=list(index))
    if count_column is None:
        session.connection().execute(stmt, rows)
        return -1
    return len(session.connection().execute(stmt.returning(count_column), rows).all())
