"""a parent table and a child table that references it with ON DELETE CASCADE"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('parent', sa.Column('id', sa.Integer(), primary_key=True))
    op.create_table('child', sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('parent_id', sa.Integer(), sa.ForeignKey('parent.id', ondelete='CASCADE'), nullable=False))


def downgrade() -> None:
    op.drop_table('child')
    op.drop_table('parent')
