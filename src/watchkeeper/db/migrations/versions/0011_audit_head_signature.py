"""audit_head: signature of the chain head

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:00:00

The head of the audit chain is signed with every event, so events appended or removed after
the last checkpoint are detected (docs/security.md, "Audit log integrity").
"""

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_head', sa.Column('key_id', sa.String(length=64), nullable=True))
    op.add_column('audit_head', sa.Column('signature', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_head') as batch:
        batch.drop_column('signature')
        batch.drop_column('key_id')
