"""Alembic environment: the engine is handed in by watchkeeper.db.migrate."""

from alembic import context

from watchkeeper.tables import metadata

config = context.config


def run() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        applied: list[str] = []
        if sqlite:
            # A batch operation rebuilds a table (create a copy, drop the old one, rename), and
            # with foreign keys on, dropping it deletes every row that references it through ON
            # DELETE CASCADE: 0.1.0's 0211 lost all notify_attempt rows that way. Foreign keys are
            # off while migrations run (the pragma is ignored inside a transaction, so it is set
            # on the driver connection first) and checked before the commit instead.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
                # SQLite can run DDL in a transaction; alembic assumes it cannot and commits after
                # every migration, so two processes starting together would each read an old
                # version and then run the same migration twice. One transaction for the whole
                # upgrade (BEGIN IMMEDIATE, see watchkeeper.db.engine) serialises them and makes
                # a failed upgrade leave nothing half done.
                transactional_ddl=True,
                on_version_apply=lambda *, step, **_: applied.append(str(step)),
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and applied:
                    _check_foreign_keys(connection)
            connection.commit()
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection) -> None:
    """Refuse to commit migrations that left a row pointing at a row that is gone (one line,
    and the whole upgrade rolls back)."""
    from watchkeeper.errors import Conflict

    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({f"{row[0]} -> {row[2]}" for row in broken})
        raise Conflict(
            f"the migration left {len(broken)} row(s) referencing missing rows ({', '.join(tables)}); "
            "nothing was changed"
        )


run()
