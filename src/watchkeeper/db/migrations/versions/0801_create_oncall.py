"""create oncall: oncall_schedule, oncall_override

Revision ID: 0801
Revises: 0001
Create Date: 2026-12-07 20:00:00
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy.dialects import postgresql

revision = '0801'
down_revision = '0001'
branch_labels = ('oncall',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('oncall_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('layers', JSON, nullable=False),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_schedule')),
    sa.UniqueConstraint('name', name=op.f('uq_oncall_schedule_name'))
    )
    with op.batch_alter_table('oncall_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_schedule_team'), ['team'], unique=False)

    op.create_table('oncall_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('person', sa.String(length=100), nullable=False),
    sa.Column('starts_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['oncall_schedule.id'], name=op.f('fk_oncall_override_schedule_id_oncall_schedule'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_override'))
    )
    with op.batch_alter_table('oncall_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_override_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oncall_override_schedule_id'), ['schedule_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oncall_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_override_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_oncall_override_ends_at'))
    op.drop_table('oncall_override')
    with op.batch_alter_table('oncall_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_schedule_team'))
    op.drop_table('oncall_schedule')
