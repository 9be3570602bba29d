"""users.language: the language a person's pages are shown in

Revision ID: 0010_user_language
Revises: 0009_partner_confirm
Create Date: 2026-12-06 08:00:00

Nullable (None: follow the browser). No CHECK constraint: the supported locales are a list
in app/i18n, checked by the service, and adding a language should need no migration; a value
the app does not know is ignored when a page picks its language.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_user_language'
down_revision: str | None = '0009_partner_confirm'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on both engines (batch mode would rebuild users under every table
    # that references it).
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35): rebuilding users would cascade-delete the rows
    # that reference it.
    op.drop_column('users', 'language')
