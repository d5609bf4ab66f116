"""revision 0901, depending on 0801 (the head of another branch)"""

from alembic import op
import sqlalchemy as sa

revision = '0901'
down_revision = '0001'
branch_labels = ('incidents',)
depends_on = '0801'


def upgrade() -> None:
    op.create_table('t_0901', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table('t_0901')
