"""reports: the kind of a case's outcome (plain, reportable), and the indexes the summary uses

Revision ID: 0012_reports
Revises: 0011_daily_work
Create Date: 2026-12-06 11:00:00

- cases.outcome_kind: how a closed case ended, one word from a list (OutcomeKind), so reports
  count outcomes without a key; the outcome's story stays in the encrypted `outcome` and
  `closing_note` (SECURITY.md names it among the reportable dimensions).
- ix_cases_team_id_created_at: a report takes in a team's cases by month of intake.
- ix_case_stage_changes_case_id_at: time in stage walks each case's history in order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_reports'
down_revision: str | None = '0012_ops'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (batch mode would rebuild cases under every table referencing it).
    op.add_column('cases', sa.Column('outcome_kind', sa.String(length=32), nullable=True))
    op.create_index('ix_cases_team_id_created_at', 'cases', ['team_id', 'created_at'], unique=False)
    op.create_index(
        'ix_case_stage_changes_case_id_at', 'case_stage_changes', ['case_id', 'at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_case_stage_changes_case_id_at', table_name='case_stage_changes')
    op.drop_index('ix_cases_team_id_created_at', table_name='cases')
    # A plain DROP COLUMN (SQLite >= 3.35): rebuilding cases would cascade-delete its rows.
    op.drop_column('cases', 'outcome_kind')
