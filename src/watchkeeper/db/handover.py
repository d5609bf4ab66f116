"""Helpers for the first revision of a domain's migration branch when it takes tables over from
the branch that created them in an earlier release (docs/data-model.md, "Migration branches").

Such a revision creates its tables on a new database and adopts them as they are on a database
that already has them: alembic cannot know that a table moved between branches, so the
revision asks the database. Adopting checks the table has the columns the domain expects, so a
table left half-made or made by someone else stops the upgrade with one line instead of
breaking queries later.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

from watchkeeper.errors import Conflict


def columns(table: str) -> set[str] | None:
    """The column names of `table` in the database being migrated, or None when it has no such
    table."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(table):
        return None
    return {column["name"] for column in inspector.get_columns(table)}


def adopt(table: str, expected: Iterable[str], *, required: bool = False) -> bool:
    """True when `table` already exists and has every `expected` column (the revision then leaves
    it as it is); False when it does not exist (the revision creates it). Raises Conflict when it
    exists without some of them, or does not exist and is `required` (a table that must be there
    because its sibling is)."""
    have = columns(table)
    if have is None:
        if required:
            raise Conflict(
                f"table {table} is missing while the tables created with it exist; the database "
                "was not left by a Watchkeeper release — restore it from a backup"
            )
        return False
    missing = [name for name in expected if name not in have]
    if missing:
        raise Conflict(
            f"table {table} exists but has no column {', '.join(missing)}; it was not left by a "
            "Watchkeeper release — restore the database from a backup or drop the table"
        )
    return True
