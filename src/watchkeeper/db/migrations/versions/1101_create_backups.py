"""create backups: backups_job, backups_run

Revision ID: 1101
Revises: 0001
Create Date: 2026-12-07 20:01:52.854372
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = '1101'
down_revision = '0001'
branch_labels = ('backups',)
depends_on = None


def upgrade() -> None:
    op.create_table('backups_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('schedule', sa.String(length=100), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('retention', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('restore_test', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    sa.Column('next_backup_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_restore_test_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lock_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lock_until', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backups_job')),
    sa.UniqueConstraint('name', name=op.f('uq_backups_job_name'))
    )
    with op.batch_alter_table('backups_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backups_job_service'), ['service'], unique=False)

    op.create_table('backups_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('queued_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('artifact', sa.String(length=4096), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('data_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('backup_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('output', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['backups_job.id'], name=op.f('fk_backups_run_job_id_backups_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backups_run'))
    )
    with op.batch_alter_table('backups_run', schema=None) as batch_op:
        batch_op.create_index('ix_backups_run_job_kind_id', ['job_id', 'kind', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('backups_run', schema=None) as batch_op:
        batch_op.drop_index('ix_backups_run_job_kind_id')

    op.drop_table('backups_run')
    with op.batch_alter_table('backups_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backups_job_service'))

    op.drop_table('backups_job')
