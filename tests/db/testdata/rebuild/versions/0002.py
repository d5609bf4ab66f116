"""what 0.1.0's 0211 did to notify_outbox: a column with an expression default, which SQLite's
batch mode adds by rebuilding the table"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('parent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('parent', schema=None) as batch_op:
        batch_op.drop_column('flag')
