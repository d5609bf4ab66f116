"""revision 0801"""

from alembic import op
import sqlalchemy as sa

revision = '0801'
down_revision = '0001'
branch_labels = ('oncall',)
depends_on = None


def upgrade() -> None:
    op.create_table('t_0801', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table('t_0801')
