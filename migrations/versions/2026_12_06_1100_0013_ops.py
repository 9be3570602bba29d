"""ops: the public checkpoint keys a root-key rotation retired

Revision ID: 0012_ops
Revises: 0011_daily_work
Create Date: 2026-12-06 11:00:00

- retired_verifier_keys: `haven keys rotate-root` derives a new audit checkpoint key from
  the new root; the old public key is kept so checkpoints signed before still verify.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0012_ops'
down_revision: str | None = '0012_intake'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'retired_verifier_keys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('retired_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retired_verifier_keys')),
    )


def downgrade() -> None:
    op.drop_table('retired_verifier_keys')
