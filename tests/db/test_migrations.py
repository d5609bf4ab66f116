"""Migrations build the schema on both stores, go down and up again, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine
from watchkeeper.tables import metadata


def test_upgrade_creates_every_table_and_downgrade_removes_them(fresh_url):
    engine = make_engine(fresh_url)
    try:
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        assert migrate.is_current(engine)
        migrate.downgrade(engine, "base")
        remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_differ(migrated_engine):
    with migrated_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models differ from migrations; generate a migration: {diff}"


def test_processes_starting_together_prepare_the_database_once(fresh_url, tmp_path):
    """Four `watchkeeper migrate` processes on one empty database: all succeed, one admin."""
    import os
    import subprocess
    import sys

    from sqlalchemy import text

    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": fresh_url, "WATCHKEEPER_DATA_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-m", "watchkeeper", "migrate"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [r[1][-500:] for r in results]
    assert sum(r[1].count("one-time password") for r in results) == 1
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM auth_user")).scalar() == 1
    finally:
        engine.dispose()


def test_a_branch_that_depends_on_another_branchs_head_is_current_after_upgrade(fresh_url, monkeypatch):
    """A domain whose tables reference another domain's declares `depends_on` (docs/data-model.md);
    alembic_version then holds the dependent's row instead of the dependency's, and the database
    is still current — /readyz must not report pending migrations forever."""
    from pathlib import Path

    monkeypatch.setattr(migrate, "MIGRATIONS", Path(__file__).parent / "testdata" / "depends_on")
    engine = make_engine(fresh_url)
    try:
        assert not migrate.is_current(engine)
        migrate.upgrade(engine, "0801")
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert {"t_0001", "t_0801", "t_0901"} <= set(inspect(engine).get_table_names())
        assert migrate.current(engine) == {"0901"} == migrate.heads()
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def _rebuild_config(engine):
    """The product's migration environment (env.py) with the revisions of testdata/rebuild."""
    from pathlib import Path

    cfg = migrate.alembic_config(engine)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(Path(__file__).parent / "testdata" / "rebuild" / "versions"))
    return cfg


def test_a_migration_that_rebuilds_a_referenced_table_keeps_the_rows_that_reference_it(fresh_url):
    from alembic import command
    from sqlalchemy import text

    engine = make_engine(fresh_url)
    try:
        command.upgrade(_rebuild_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO parent (id) VALUES (1), (2)"))
            conn.execute(text("INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 1), (12, 2)"))
        command.upgrade(_rebuild_config(engine), "0002")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, parent_id FROM child ORDER BY id")).all() == [(10, 1), (11, 1), (12, 2)]
            assert conn.execute(text("SELECT id, flag FROM parent ORDER BY id")).all() == [(1, False), (2, False)]
        # Foreign keys are on again for the application's connections.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM parent WHERE id = 2"))
            assert conn.execute(text("SELECT id FROM child ORDER BY id")).scalars().all() == [10, 11]
    finally:
        engine.dispose()


def test_a_migration_that_leaves_dangling_references_is_rolled_back_with_one_line(tmp_path):
    """SQLite checks foreign keys after the migrations instead of during them (PostgreSQL keeps
    them on during migrations, so there the delete cascades and nothing dangles: SQLite only)."""
    from alembic import command
    from sqlalchemy import text

    from watchkeeper.errors import Conflict

    engine = make_engine(f"sqlite:///{tmp_path / 'dangling.db'}")
    try:
        command.upgrade(_rebuild_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO parent (id) VALUES (1)"))
            conn.execute(text("INSERT INTO child (id, parent_id) VALUES (10, 1)"))
        with pytest.raises(Conflict) as caught:
            command.upgrade(_rebuild_config(engine), "heads")
        assert str(caught.value) == ("the migration left 1 row(s) referencing missing rows (child -> parent); "
                                     "nothing was changed")
        assert migrate.current(engine) == {"0001"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM parent")).scalar() == 1
        assert "flag" not in {c["name"] for c in inspect(engine).get_columns("parent")}
    finally:
        engine.dispose()
