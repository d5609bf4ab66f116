"""create oncall_policy

Revision ID: 0802
Revises: 0801
Create Date: 2026-12-07 20:10:00
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy.dialects import postgresql

revision = '0802'
down_revision = '0801'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('oncall_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('services', JSON, nullable=False),
    sa.Column('levels', JSON, nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_policy')),
    sa.UniqueConstraint('name', name=op.f('uq_oncall_policy_name'))
    )
    with op.batch_alter_table('oncall_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_policy_team'), ['team'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oncall_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_policy_team'))
    op.drop_table('oncall_policy')
