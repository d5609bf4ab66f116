"""create signoffs: signoffs_stakeholder_role, signoffs_signoff

Revision ID: 0601
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

revision = '0601'
down_revision = '0001'
branch_labels = ('signoffs',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _role_columns() -> list[sa.Column]:
    return [
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('required_for', JSON, nullable=False),
    sa.Column('people', JSON, nullable=False),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    sa.Column('created_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    ]


def _signoff_columns() -> list[sa.Column]:
    return [
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.Column('signer', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signed_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', watchkeeper.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    if handover.adopt('signoffs_stakeholder_role', [c.name for c in _role_columns()]):
        handover.adopt('signoffs_signoff', [c.name for c in _signoff_columns()], required=True)
        return
    op.create_table('signoffs_stakeholder_role', *_role_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signoffs_stakeholder_role')),
    sa.UniqueConstraint('name', name=op.f('uq_signoffs_stakeholder_role_name'))
    )
    op.create_table('signoffs_signoff', *_signoff_columns(),
    sa.ForeignKeyConstraint(['service_id'], ['catalog_service.id'], name=op.f('fk_signoffs_signoff_service_id_catalog_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signoffs_signoff'))
    )
    with op.batch_alter_table('signoffs_signoff', schema=None) as batch_op:
        batch_op.create_index('ix_signoffs_signoff_service_checkpoint', ['service_id', 'checkpoint'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signoffs_signoff', schema=None) as batch_op:
        batch_op.drop_index('ix_signoffs_signoff_service_checkpoint')

    op.drop_table('signoffs_signoff')
    op.drop_table('signoffs_stakeholder_role')
