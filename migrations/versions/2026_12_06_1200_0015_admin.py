"""auth_sessions.agent (a coarse device name for "my sessions") and users.totp_pending (a
new authenticator being set up from my account, until a code from it is confirmed)

Revision ID: 0012_admin
Revises: 0011_daily_work
Create Date: 2026-12-06 11:00:00

Both nullable: an older session has no device name, and no account is changing its
authenticator. Plain ADD COLUMN on both engines (batch mode would rebuild the tables under
everything that references them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_admin'
down_revision: str | None = '0012_reports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('auth_sessions', sa.Column('agent', sa.String(length=40), nullable=True))
    op.add_column('users', sa.Column('totp_pending', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): rebuilding users would cascade-delete the rows
    # that reference it.
    op.drop_column('users', 'totp_pending')
    op.drop_column('auth_sessions', 'agent')
