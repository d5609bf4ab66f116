"""create notify: notify_outbox, notify_attempt

Revision ID: 0401
Revises: 0001
Create Date: 2026-12-07 19:00:00

The alerting branch created these tables until 0.1.0 (0201, with columns added by 0210 and
0211, which are empty now). A database from then already has them: this revision takes them over
as they are, first adding what 0210/0211 added when the database was stamped before those ran.
Columns are in the order such databases have them, so new and upgraded databases are alike.
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy.dialects import postgresql

from watchkeeper.db import handover

revision = '0401'
down_revision = '0001'
branch_labels = ('notify',)
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _outbox_columns() -> list[sa.Column]:
    return [
    sa.Column('id', BigId, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('receiver', sa.String(length=100), nullable=False),
    sa.Column('channel_kind', sa.String(length=20), nullable=False),
    sa.Column('channel', JSON, nullable=False),
    sa.Column('message', JSON, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('backoff_base_seconds', sa.Float(), nullable=False),
    sa.Column('backoff_max_seconds', sa.Float(), nullable=False),
    sa.Column('next_attempt_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('lease_token', sa.String(length=64), nullable=True),
    sa.Column('lease_until', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    _owner(),
    _possible_duplicate(),
    ]


def _attempt_columns() -> list[sa.Column]:
    return [
    sa.Column('id', BigId, nullable=False),
    sa.Column('outbox_id', BigId, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=False),
    sa.Column('started_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('retryable', sa.Boolean(), nullable=True),
    _stage(),
    ]


def _owner() -> sa.Column:  # was 0210
    return sa.Column('owner', sa.String(length=32), nullable=True)


def _stage() -> sa.Column:  # was 0211
    return sa.Column('stage', sa.String(length=16), nullable=True)


def _possible_duplicate() -> sa.Column:  # was 0211
    return sa.Column('possible_duplicate', sa.Boolean(), server_default=sa.false(), nullable=False)


def upgrade() -> None:
    outbox = handover.columns('notify_outbox')
    if outbox is not None:
        # Plain ALTER TABLE ADD COLUMN, not a batch operation: on SQLite a batch with this server
        # default copies all of notify_outbox into a new table (0.1.0's 0211 did, and lost every
        # notify_attempt row through ON DELETE CASCADE; see env.py).
        attempt = handover.columns('notify_attempt') or set()
        if 'owner' not in outbox:
            op.add_column('notify_outbox', _owner())
        if attempt and 'stage' not in attempt:
            op.add_column('notify_attempt', _stage())
        if 'possible_duplicate' not in outbox:
            op.add_column('notify_outbox', _possible_duplicate())
        handover.adopt('notify_outbox', [c.name for c in _outbox_columns()])
        handover.adopt('notify_attempt', [c.name for c in _attempt_columns()], required=True)
        return

    op.create_table('notify_outbox', *_outbox_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_notify_outbox_idempotency_key'))
    )
    with op.batch_alter_table('notify_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_notify_outbox_ready', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_outbox_ref'), ['ref'], unique=False)

    op.create_table('notify_attempt', *_attempt_columns(),
    sa.ForeignKeyConstraint(['outbox_id'], ['notify_outbox.id'], name=op.f('fk_notify_attempt_outbox_id_notify_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_attempt'))
    )
    with op.batch_alter_table('notify_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_attempt_outbox_id'), ['outbox_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notify_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_attempt_outbox_id'))

    op.drop_table('notify_attempt')
    with op.batch_alter_table('notify_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_outbox_ref'))
        batch_op.drop_index('ix_notify_outbox_ready')

    op.drop_table('notify_outbox')
