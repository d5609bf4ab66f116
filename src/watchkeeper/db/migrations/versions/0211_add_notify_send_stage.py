"""notify_attempt.stage, notify_outbox.possible_duplicate — moved to the notify branch (0401); now empty

Revision ID: 0211
Revises: 0210
Create Date: 2026-12-07 16:30:00

It added the two columns when the notify tables lived in the alerting branch. The notify
branch's first revision (0401) creates them, or adds them to a database stamped before this
revision ran. The revision stays, empty, because databases created by 0.1.0 are stamped with it
(it was the alerting branch's head).
"""

revision = '0211'
down_revision = '0210'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
