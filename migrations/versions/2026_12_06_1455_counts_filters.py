"""case list filters: (team_id, current_country | risk_level | assigned_to, created_at, id)

Revision ID: counts_filters
Revises: counts_list
Create Date: 2026-12-06 14:55:00

A list filtered by country, risk or assignee reads only the matching rows, in the list's
order: its page and its bounded count (app/pagination.py) cost the same at any size.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "counts_filters"
down_revision: str | None = "counts_list"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("current_country", "risk_level", "assigned_to")


def upgrade() -> None:
    for column in COLUMNS:
        op.create_index(
            f"ix_cases_team_id_{column}_created_at_id",
            "cases",
            ["team_id", column, "created_at", "id"],
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_cases_team_id_{column}_created_at_id", table_name="cases")
