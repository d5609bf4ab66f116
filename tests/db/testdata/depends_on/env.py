"""Alembic environment for a three-revision graph where one branch depends on another branch's
head (tests/db/test_migrations.py)."""

from alembic import context

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
