"""create assessments: assessments_run, assessments_finding

Revision ID: 0701
Revises: 0001
Create Date: 2026-12-07 19:00:00

The readiness branch created these tables until 0.1.0 (0301). A database from then already has
them: this revision takes them over as they are.
"""

from alembic import op
import sqlalchemy as sa
import watchkeeper.db.types
from sqlalchemy.dialects import postgresql

from watchkeeper.db import handover

revision = '0701'
down_revision = '0001'
branch_labels = ('assessments',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _run_columns() -> list[sa.Column]:
    return [
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('suite', sa.String(length=20), nullable=False),
    sa.Column('tool', sa.String(length=100), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('ran_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('checks', JSON, nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    ]


def _finding_columns() -> list[sa.Column]:
    return [
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('suite', sa.String(length=20), nullable=False),
    sa.Column('tool', sa.String(length=100), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('resolved_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    if handover.adopt('assessments_run', [c.name for c in _run_columns()]):
        handover.adopt('assessments_finding', [c.name for c in _finding_columns()], required=True)
        return
    op.create_table('assessments_run', *_run_columns(),
    sa.ForeignKeyConstraint(['service_id'], ['catalog_service.id'], name=op.f('fk_assessments_run_service_id_catalog_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments_run'))
    )
    with op.batch_alter_table('assessments_run', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_run_latest', ['service_id', 'suite', 'tool', 'ran_at'], unique=False)

    op.create_table('assessments_finding', *_finding_columns(),
    sa.ForeignKeyConstraint(['run_id'], ['assessments_run.id'], name=op.f('fk_assessments_finding_run_id_assessments_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['catalog_service.id'], name=op.f('fk_assessments_finding_service_id_catalog_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments_finding'))
    )
    with op.batch_alter_table('assessments_finding', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_finding_open', ['service_id', 'suite', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_finding_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('assessments_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_finding_run_id'))
        batch_op.drop_index('ix_assessments_finding_open')

    op.drop_table('assessments_finding')
    with op.batch_alter_table('assessments_run', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_run_latest')

    op.drop_table('assessments_run')
