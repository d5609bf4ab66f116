"""Alembic environment: the engine is handed in by watchkeeper.db.migrate."""

from alembic import context

from watchkeeper.tables import metadata

config = context.config


def run() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            # SQLite can run DDL in a transaction; alembic assumes it cannot and commits after
            # every migration, so two processes starting together would each read an old
            # version and then run the same migration twice. One transaction for the whole
            # upgrade (BEGIN IMMEDIATE, see watchkeeper.db.engine) serialises them and makes a
            # failed upgrade leave nothing half done.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
