"""create runbooks: runbooks_settings, runbooks_document, runbooks_review, runbooks_step_run

Revision ID: 1301
Revises: 0001
Create Date: 2026-12-07 21:47:53.389851
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision = '1301'
down_revision = '0001'
branch_labels = ('runbooks',)
depends_on = None


def upgrade() -> None:
    op.create_table('runbooks_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('services', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('alerts', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('owners', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('reviewers', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('reviewed_at', sa.Date(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('review_every_seconds', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('links', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('authors', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('last_commit', sa.String(length=64), nullable=True),
    sa.Column('last_commit_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runbooks_document')),
    sa.UniqueConstraint('path', name=op.f('uq_runbooks_document_path'))
    )
    with op.batch_alter_table('runbooks_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runbooks_document_kind'), ['kind'], unique=False)

    op.create_table('runbooks_review',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=True),
    sa.Column('requested_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewer', sa.String(length=200), nullable=True),
    sa.Column('approved_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runbooks_review'))
    )
    with op.batch_alter_table('runbooks_review', schema=None) as batch_op:
        batch_op.create_index('ix_runbooks_review_path_id', ['path', 'id'], unique=False)

    op.create_table('runbooks_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('review_every_seconds', sa.Integer(), nullable=False),
    sa.Column('remind_before_seconds', sa.Integer(), nullable=False),
    sa.Column('runners', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    sa.Column('last_sync_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sync_error', sa.Text(), nullable=True),
    sa.Column('head_commit', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runbooks_settings'))
    )
    op.create_table('runbooks_step_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=False),
    sa.Column('runner', sa.String(length=64), nullable=False),
    sa.Column('runner_kind', sa.String(length=20), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('services', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('queued_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('timed_out', sa.Boolean(), nullable=False),
    sa.Column('output', sa.Text(), nullable=True),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runbooks_step_run'))
    )
    with op.batch_alter_table('runbooks_step_run', schema=None) as batch_op:
        batch_op.create_index('ix_runbooks_step_run_path_id', ['path', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('runbooks_step_run', schema=None) as batch_op:
        batch_op.drop_index('ix_runbooks_step_run_path_id')

    op.drop_table('runbooks_step_run')
    op.drop_table('runbooks_settings')
    with op.batch_alter_table('runbooks_review', schema=None) as batch_op:
        batch_op.drop_index('ix_runbooks_review_path_id')

    op.drop_table('runbooks_review')
    with op.batch_alter_table('runbooks_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runbooks_document_kind'))

    op.drop_table('runbooks_document')
