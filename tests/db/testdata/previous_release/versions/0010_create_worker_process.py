"""create worker_process; worker_job.owner

Revision ID: 0010
Revises: 0001
Create Date: 2026-12-07 16:00:00

Worker liveness: every worker process registers a row, and a claimed job names the process
that holds it, so the work of a dead process is taken back in seconds (docs/alerting.md).
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types

revision = '0010'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_process',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('lock_key', sa.BigInteger(), nullable=True),
    sa.Column('started_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_process'))
    )
    with op.batch_alter_table('worker_process', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_process_status'), ['status'], unique=False)
    with op.batch_alter_table('worker_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('worker_job', schema=None) as batch_op:
        batch_op.drop_column('owner')
    with op.batch_alter_table('worker_process', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_process_status'))
    op.drop_table('worker_process')
