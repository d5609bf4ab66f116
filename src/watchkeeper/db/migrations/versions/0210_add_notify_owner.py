"""notify_outbox.owner — moved to the notify branch (0401); this revision is now empty

Revision ID: 0210
Revises: 0201
Create Date: 2026-12-07 16:00:00

It added notify_outbox.owner when the notify tables lived in the alerting branch. The notify
branch's first revision (0401) creates the column, or adds it to a database stamped before
this revision ran. The revision stays, empty, because databases name it in alembic_version.
"""

revision = '0210'
down_revision = '0201'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
