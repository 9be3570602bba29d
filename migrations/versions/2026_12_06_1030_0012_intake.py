"""intake: interviews kept when the session lapsed before they were saved

Revision ID: 0012_intake
Revises: 0011_daily_work
Create Date: 2026-12-06 10:30:00

- interview_drafts: one intake form whose POST arrived after its session had lapsed; the
  typed values encrypted (AES-256-GCM under a key derived from the root key, bound to the
  account and the row), deleted when the interview is saved or a day after it was kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.crypto.ciphertext
import app.db

revision: str = '0012_intake'
down_revision: str | None = '0011_daily_work'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'interview_drafts',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('body', app.crypto.ciphertext.Encrypted(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interview_drafts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interview_drafts')),
    )
    op.create_index(op.f('ix_interview_drafts_expires_at'), 'interview_drafts', ['expires_at'], unique=False)
    op.create_index(op.f('ix_interview_drafts_user_id'), 'interview_drafts', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_interview_drafts_user_id'), table_name='interview_drafts')
    op.drop_index(op.f('ix_interview_drafts_expires_at'), table_name='interview_drafts')
    op.drop_table('interview_drafts')
