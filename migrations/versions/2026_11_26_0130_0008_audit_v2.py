"""audit entries v2: a stored body, value columns generated from it

Revision ID: 0008_audit_v2
Revises: 0007_users
Create Date: 2026-11-26 01:30:00

Each entry now stores its canonical body (app/audit/canonical.py) and the database
generates every value column from it (app/audit/schema.py); leaves hash
["haven-audit/v2",seq,entry_id,BODY]. Haven had no deployment before this revision: an
existing development log is re-encoded (bodies from the old columns, leaves, head) and its
v1 checkpoints, which vouch for v1 roots only, are removed. Downgrading refuses a log that
holds entries: that would rewrite its history a second time.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.db
from app.audit.merkle import frontier_append, pack_frontier
from app.audit.schema import entries_ddl

revision: str = '0008_audit_v2'
down_revision: str | None = '0007_users'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    'ix_audit_entries_action': ['action'],
    'ix_audit_entries_actor_at': ['actor_id', 'at'],
    'ix_audit_entries_at': ['at'],
    'ix_audit_entries_object': ['object_type', 'object_id'],
}
OLD_COLUMNS = (
    'at, actor_id, actor_role, action, object_type, object_id, fields, outcome, '
    'request_id, reason_code'
)


def _triggers(table: str, create: bool) -> None:
    """The append-only triggers of migration 0004 on one table (its function stays)."""
    if op.get_bind().dialect.name == 'postgresql':
        for name, when, scope in (
            ('append_only', 'UPDATE OR DELETE', 'ROW'),
            ('no_truncate', 'TRUNCATE', 'STATEMENT'),
        ):
            op.execute(
                f'CREATE TRIGGER {table}_{name} BEFORE {when} ON {table} FOR EACH {scope} '
                'EXECUTE FUNCTION haven_audit_append_only()'
                if create
                else f'DROP TRIGGER IF EXISTS {table}_{name} ON {table}'
            )
        return
    for verb in ('UPDATE', 'DELETE'):
        op.execute(
            f'CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} '
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            if create
            else f'DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}'
        )


def _v1_leaf(seq: int, entry_id: int, row: Any) -> bytes:
    """The leaf migration 0004 wrote for an old entry (encoding v1)."""
    at, actor, role, action, otype, oid, fields, outcome, rid, rc = _values(row)
    encoding = json.dumps(
        ['haven-audit/v1', seq, entry_id, at, actor, role, action, otype, oid, fields,
         outcome, rid, rc],
        separators=(',', ':'), ensure_ascii=True, sort_keys=True,
    )
    return hashlib.sha256(b'\x00' + encoding.encode()).digest()


def _values(row: Any) -> list[Any]:
    """An old row's values as both encodings spell them."""
    at, actor, role, action, otype, oid, fields, outcome, rid, rc = row
    if isinstance(at, str):  # SQLite hands back its stored text, in UTC
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if isinstance(fields, str):
        fields = json.loads(fields)
    actor_hex = uuid.UUID(str(actor)).hex if actor is not None else None
    return [
        at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f'), actor_hex, role, action, otype,
        oid, fields, outcome, rid, rc,
    ]


def _body(row: Any) -> str:
    """An old entry's values as a v2 body (the encoding app/audit/canonical.py defines)."""
    values = _values(row)
    values[6] = sorted(set(values[6]))
    return json.dumps(values, separators=(',', ':'), ensure_ascii=True)


def _leaves_table() -> None:
    op.create_table('audit_leaves',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['audit_entries.id'], name=op.f('fk_audit_leaves_entry_id_audit_entries')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_leaves')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_audit_leaves_entry_id'))
    )


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    old = bind.execute(sa.text(f'SELECT id, {OLD_COLUMNS} FROM audit_entries ORDER BY id')).all()
    sequenced = bind.execute(
        sa.text('SELECT seq, entry_id, leaf_hash FROM audit_leaves ORDER BY seq')
    ).all()
    by_id = {int(r[0]): r[1:] for r in old}
    # Re-encoding must not launder tampering: every old leaf must still match its entry.
    for position, (seq, entry_id, leaf) in enumerate(sequenced):
        row = by_id.get(int(entry_id))
        if int(seq) != position or row is None or _v1_leaf(int(seq), int(entry_id), row) != bytes(leaf):
            raise RuntimeError(
                f'refusing to re-encode the audit log: entry {position} does not match its '
                'v1 leaf (damaged or tampered before this migration). Keep this database as '
                'evidence, verify it with the previous release, and start a new log.'
            )
    bodies = {i: _body(r) for i, r in by_id.items()}

    op.drop_table('audit_leaves')  # its triggers go with it
    for name in INDEXES:
        op.drop_index(name, table_name='audit_entries')
    op.drop_table('audit_entries')
    op.execute(entries_ddl(dialect))
    for name, columns in INDEXES.items():
        op.create_index(name, 'audit_entries', columns)
    _leaves_table()

    if bodies:
        entries = sa.table('audit_entries', sa.column('id'), sa.column('body'))
        op.bulk_insert(entries, [{'id': i, 'body': b} for i, b in bodies.items()])
        if dialect == 'postgresql':
            op.execute("SELECT setval('audit_entries_id_seq', (SELECT max(id) FROM audit_entries))")
    frontier: list[bytes] = []
    rows = []
    for seq, entry_id, _ in sequenced:
        preimage = f'\x00["haven-audit/v2",{int(seq)},{int(entry_id)},{bodies[int(entry_id)]}]'
        leaf = hashlib.sha256(preimage.encode()).digest()
        frontier_append(frontier, int(seq), leaf)
        rows.append({'seq': int(seq), 'entry_id': int(entry_id), 'leaf_hash': leaf})
    if rows:
        leaves = sa.table('audit_leaves', sa.column('seq'), sa.column('entry_id'), sa.column('leaf_hash'))
        op.bulk_insert(leaves, rows)
    bind.execute(
        sa.text('UPDATE audit_head SET size = :n, frontier = :f, updated_at = :t WHERE id = 1'),
        {'n': len(rows), 'f': pack_frontier(frontier), 't': datetime.now(UTC)},
    )
    if bind.execute(sa.text('SELECT count(*) FROM audit_checkpoints')).scalar_one():
        _triggers('audit_checkpoints', create=False)
        op.execute('DELETE FROM audit_checkpoints')  # v1 roots: nothing can verify them now
        _triggers('audit_checkpoints', create=True)
    _triggers('audit_entries', create=True)
    _triggers('audit_leaves', create=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text('SELECT count(*) FROM audit_entries')).scalar_one():
        raise RuntimeError(
            'refusing to downgrade past 0008: the audit log holds entries, and going back '
            'would rewrite its history (export and archive it, then start a new log)'
        )
    op.drop_table('audit_leaves')
    op.drop_table('audit_entries')
    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.Column('reason_code', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    for name, columns in INDEXES.items():
        op.create_index(name, 'audit_entries', columns)
    _leaves_table()
    bind.execute(sa.text("UPDATE audit_head SET size = 0, frontier = :f WHERE id = 1"), {'f': b''})
    _triggers('audit_entries', create=True)
    _triggers('audit_leaves', create=True)
