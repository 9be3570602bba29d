"""daily work: staff display names, one-time passwords, case deadline dates

Revision ID: 0011_daily_work
Revises: 0010_user_language
Create Date: 2026-12-06 09:30:00

- users.display_name: how colleagues see an account in the team directory (plain, like the
  e-mail; staff only, never a client).
- users.password_must_change / one_time_used_at: a password someone else chose (the CLI,
  an admin, an approving coordinator) works once and must be replaced at that sign-in.
- case_deadlines: the dates of a case's hearings and deadlines, and nothing else about them,
  so the triage board and a list sorted by what is due need no key (SECURITY.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0011_daily_work'
down_revision: str | None = '0010_user_language'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (batch mode would rebuild users under every table referencing it).
    op.add_column('users', sa.Column('display_name', sa.String(length=120), nullable=True))
    op.add_column(
        'users',
        sa.Column(
            'password_must_change', sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column(
        'users', sa.Column('one_time_used_at', app.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_table(
        'case_deadlines',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('on', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_deadlines_case_id_cases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_deadlines')),
    )
    op.create_index(op.f('ix_case_deadlines_case_id'), 'case_deadlines', ['case_id'], unique=False)
    op.create_index('ix_case_deadlines_on', 'case_deadlines', ['on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_deadlines_on', table_name='case_deadlines')
    op.drop_index(op.f('ix_case_deadlines_case_id'), table_name='case_deadlines')
    op.drop_table('case_deadlines')
    # Plain DROP COLUMNs (SQLite >= 3.35): rebuilding users would cascade-delete its rows.
    op.drop_column('users', 'one_time_used_at')
    op.drop_column('users', 'password_must_change')
    op.drop_column('users', 'display_name')
