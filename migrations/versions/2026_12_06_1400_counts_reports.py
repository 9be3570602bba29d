"""report_counts: the maintained counts the report summary is read from, built from the cases

Revision ID: counts_reports
Revises: 0012_admin
Create Date: 2026-12-06 14:00:00

One row per (team, month of intake, dimension, value, second value) with its count
(app/reports/counts.py). The application keeps it with every case write from now on; this
migration fills it from the cases and stage histories already there (the same computation
as `haven reports rebuild`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "counts_reports"
down_revision: str | None = "0012_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_counts",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(length=40), nullable=False),
        sa.Column("a", sa.String(length=32), nullable=False),
        sa.Column("b", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "month", "dim", "a", "b", name=op.f("pk_report_counts")),
    )
    from app.reports import counts

    session = Session(bind=op.get_bind())
    counts.rebuild(session)
    session.flush()


def downgrade() -> None:
    op.drop_table("report_counts")
