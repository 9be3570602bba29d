"""list indexes: the case list and a volunteer's task list read only the rows of their page

Revision ID: counts_list
Revises: seq_audit_pending
Create Date: 2026-12-06 14:15:00

- cases (team_id, created_at, id), (team_id, updated_at, id), (team_id, stage, created_at,
  id), (assigned_to, created_at, id): each sort and filter of the case list in index order
  (the first replaces (team_id, created_at), which it covers);
- tasks (assigned_to, (due IS NULL), due, created_at, id): a volunteer's tasks in the list's
  order (soonest due first, no due last);
- report_counts (dim, a, b, month, team_id, n): covering, in the summary's GROUP BY order,
  and the case list's exact total (one stage's rows).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "counts_list"
down_revision: str | None = "seq_audit_pending"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_cases_team_id_created_at", table_name="cases")
    op.create_index("ix_cases_team_id_created_at_id", "cases", ["team_id", "created_at", "id"])
    op.create_index("ix_cases_team_id_updated_at_id", "cases", ["team_id", "updated_at", "id"])
    op.create_index(
        "ix_cases_team_id_stage_created_at_id", "cases", ["team_id", "stage", "created_at", "id"]
    )
    op.create_index(
        "ix_cases_assigned_to_created_at_id", "cases", ["assigned_to", "created_at", "id"]
    )
    op.create_index(
        "ix_tasks_assigned_to_due_order",
        "tasks",
        ["assigned_to", sa.text("(due IS NULL)"), "due", "created_at", "id"],
    )
    op.create_index(
        "ix_report_counts_dim_a_b_month_team_id",
        "report_counts",
        ["dim", "a", "b", "month", "team_id", "n"],
    )


def downgrade() -> None:
    op.drop_index("ix_report_counts_dim_a_b_month_team_id", table_name="report_counts")
    op.drop_index("ix_tasks_assigned_to_due_order", table_name="tasks")
    op.drop_index("ix_cases_assigned_to_created_at_id", table_name="cases")
    op.drop_index("ix_cases_team_id_stage_created_at_id", table_name="cases")
    op.drop_index("ix_cases_team_id_updated_at_id", table_name="cases")
    op.drop_index("ix_cases_team_id_created_at_id", table_name="cases")
    op.create_index("ix_cases_team_id_created_at", "cases", ["team_id", "created_at"])
