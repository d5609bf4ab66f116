"""create oncall_escalation; oncall_policy.response_targets

Revision ID: 0803
Revises: 0802
Create Date: 2026-12-07 22:00:00
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = '0803'
down_revision = '0802'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('oncall_policy', sa.Column('response_targets', sa.JSON().with_variant(
        postgresql.JSONB(astext_type=Text()), 'postgresql'), server_default='[]', nullable=False))
    op.create_table('oncall_escalation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.Column('open_ref', sa.String(length=200), nullable=True),
    sa.Column('service', sa.String(length=100), nullable=True),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('policy', sa.String(length=100), nullable=False),
    sa.Column('levels', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=30), nullable=True),
    sa.Column('ack_url', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('loop', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('next_step_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_level', sa.Integer(), nullable=True),
    sa.Column('reassign_to', sa.String(length=100), nullable=True),
    sa.Column('rr_offset', sa.Integer(), nullable=False),
    sa.Column('started_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acked_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acked_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ack_target_s', sa.Integer(), nullable=True),
    sa.Column('resolve_target_s', sa.Integer(), nullable=True),
    sa.Column('ack_breached_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_breached_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_escalation')),
    sa.UniqueConstraint('open_ref', name=op.f('uq_oncall_escalation_open_ref'))
    )
    with op.batch_alter_table('oncall_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_escalation_policy'), ['policy'], unique=False)
        batch_op.create_index(batch_op.f('ix_oncall_escalation_ref'), ['ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_oncall_escalation_service'), ['service'], unique=False)
        batch_op.create_index(batch_op.f('ix_oncall_escalation_status'), ['status'], unique=False)

    op.create_table('oncall_escalation_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('escalation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('loop', sa.Integer(), nullable=True),
    sa.Column('people', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['escalation_id'], ['oncall_escalation.id'], name=op.f('fk_oncall_escalation_event_escalation_id_oncall_escalation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oncall_escalation_event'))
    )
    with op.batch_alter_table('oncall_escalation_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_escalation_event_escalation_id'), ['escalation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oncall_escalation_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_escalation_event_escalation_id'))

    op.drop_table('oncall_escalation_event')
    with op.batch_alter_table('oncall_escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_escalation_status'))
        batch_op.drop_index(batch_op.f('ix_oncall_escalation_service'))
        batch_op.drop_index(batch_op.f('ix_oncall_escalation_ref'))
        batch_op.drop_index(batch_op.f('ix_oncall_escalation_policy'))

    op.drop_table('oncall_escalation')
    with op.batch_alter_table('oncall_policy', schema=None) as batch_op:
        batch_op.drop_column('response_targets')
