"""open tasks by due date: a partial index (status open or accepted) on (due, id)

Revision ID: tasks_open_due
Revises: counts_filters
Create Date: 2026-12-06 21:10:00

The triage board's overdue tasks (the first 20 by due date, and their number counted to
1,000) read the open tasks in due order and stop: through the index on `due` alone they
read every done task due before now too, and those grow with every year of work.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tasks_open_due"
down_revision: str | None = "counts_filters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('open', 'accepted')")


def upgrade() -> None:
    op.create_index(
        "ix_tasks_open_due", "tasks", ["due", "id"], sqlite_where=OPEN, postgresql_where=OPEN
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_open_due", table_name="tasks")
