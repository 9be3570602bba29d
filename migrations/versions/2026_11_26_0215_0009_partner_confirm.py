"""partners: a coordinator vouches for each key (confirmed_at, confirmed_by)

Revision ID: 0009_partner_confirm
Revises: 0008_audit_v2
Create Date: 2026-11-26 02:15:00

Partners registered before this revision stay unconfirmed until a coordinator confirms
their key's fingerprint: nobody can say now who checked them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0009_partner_confirm'
down_revision: str | None = '0008_audit_v2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('partners', sa.Column('confirmed_at', app.db.UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # A plain ADD COLUMN (allowed for a REFERENCES column that defaults to NULL): batch
        # mode would rebuild partners under the referrals that point at it.
        op.execute(
            'ALTER TABLE partners ADD COLUMN confirmed_by CHAR(32) '
            'CONSTRAINT fk_partners_confirmed_by_users REFERENCES users (id)'
        )
        return
    op.add_column('partners', sa.Column('confirmed_by', sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f('fk_partners_confirmed_by_users'), 'partners', 'users', ['confirmed_by'], ['id']
    )


def downgrade() -> None:
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('confirmed_at')
