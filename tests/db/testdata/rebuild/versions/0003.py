"""a faulty migration: deletes a parent row and leaves its children pointing at nothing (on SQLite,
where foreign keys are off while migrations run)"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM parent WHERE id = 1")


def downgrade() -> None:
    pass
