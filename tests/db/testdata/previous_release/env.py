"""Alembic environment for the frozen 0.1.0 migrations (tests/db/test_upgrade_from_previous_release.py).

The scripts in versions/ are the migrations of the previous release (0.1.0, commit 350c3a2) as
they were, kept so a test can build a database exactly as that release left it and upgrade it
with the current migrations. Do not edit them: they are a record, not code to maintain.
"""

from alembic import context

config = context.config


def run() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=None,
            render_as_batch=connection.dialect.name == "sqlite",
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
