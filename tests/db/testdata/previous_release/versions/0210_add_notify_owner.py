"""notify_outbox.owner

Revision ID: 0210
Revises: 0201
Create Date: 2026-12-07 16:00:00

A claimed outbox row names the worker process sending it, so a dead sender's rows are
recovered in seconds instead of after the 2-minute lease.
"""

from alembic import op
import sqlalchemy as sa

revision = '0210'
down_revision = '0201'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notify_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notify_outbox', schema=None) as batch_op:
        batch_op.drop_column('owner')
