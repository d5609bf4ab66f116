"""create maintenance: maintenance_window

Revision ID: 0501
Revises: 0001
Create Date: 2026-12-07 19:00:00

The alerting branch created this table until 0.1.0 (0201). A database from then already has it:
this revision takes it over as it is.
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy.dialects import postgresql

from watchkeeper.db import handover

revision = '0501'
down_revision = '0001'
branch_labels = ('maintenance',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _window_columns() -> list[sa.Column]:
    return [
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=True),
    sa.Column('matchers', JSON, nullable=False),
    sa.Column('starts_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('rrule', sa.Text(), nullable=True),
    sa.Column('cron', sa.String(length=100), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('until', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    ]


def upgrade() -> None:
    if handover.adopt('maintenance_window', [c.name for c in _window_columns()]):
        return
    op.create_table('maintenance_window', *_window_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_window')),
    sa.UniqueConstraint('name', name=op.f('uq_maintenance_window_name'))
    )
    with op.batch_alter_table('maintenance_window', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_window_service'), ['service'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('maintenance_window', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_window_service'))

    op.drop_table('maintenance_window')
