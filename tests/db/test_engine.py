"""Connection settings the engine applies on each store."""

from __future__ import annotations

from sqlalchemy import text

from watchkeeper.db.engine import make_engine


def test_connections_are_configured_for_their_store(fresh_url):
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                # Generic plans cached while a table was small went on scanning it as it grew.
                assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            else:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()
