"""audit_pending: entries committed but not yet given a position in the tree

Revision ID: seq_audit_pending
Revises: counts_reports
Create Date: 2026-12-06 14:00:00

Requests no longer sequence their own entries under the head lock: each entry commits with
a pending row (its id and a digest of its body), and the sequencer (app/audit/tree.py)
gives pending entries their positions in batches. Entries already in the tree stay as they
are. The table is not append-only (the sequencer deletes the rows it sequences).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'seq_audit_pending'
down_revision: str | None = 'counts_reports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('entry_id', BigId, autoincrement=False, nullable=False),
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['audit_entries.id'], name=op.f('fk_audit_pending_entry_id_audit_entries')),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_audit_pending'))
    )


def downgrade() -> None:
    # Entries still pending would lose their only record of what they said at commit.
    bind = op.get_bind()
    left = bind.execute(sa.text('SELECT count(*) FROM audit_pending')).scalar_one()
    if left:
        raise RuntimeError(
            f'{left} audit entries are not yet sequenced: run `haven audit sequence` first'
        )
    op.drop_table('audit_pending')
