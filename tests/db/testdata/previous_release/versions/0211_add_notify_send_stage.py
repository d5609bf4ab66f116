"""notify_attempt.stage, notify_outbox.possible_duplicate

Revision ID: 0211
Revises: 0210
Create Date: 2026-12-07 16:30:00

Delivery progress: how far each attempt got (claimed, transmitting, accepted), so a crash can
be told apart into certainly undelivered (sent again) and truly ambiguous (sent again and
marked as a possible duplicate, or held per the channel's guarantee).
"""

from alembic import op
import sqlalchemy as sa

revision = '0211'
down_revision = '0210'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notify_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=16), nullable=True))
    with op.batch_alter_table('notify_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('possible_duplicate', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('notify_outbox', schema=None) as batch_op:
        batch_op.drop_column('possible_duplicate')
    with op.batch_alter_table('notify_attempt', schema=None) as batch_op:
        batch_op.drop_column('stage')
