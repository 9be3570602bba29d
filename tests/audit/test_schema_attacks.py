"""The audit schema against an attacker with SQL access (triggers dropped, schema altered,
as in test_verify; SECURITY.md, "Audit log"): a duplicated entry id, a function shadowing
pg_catalog's, row security, a relative SQLite path, an index edited apart from its table."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.audit import workers
from app.audit.canonical import decode_body, encode_body
from app.audit.checkpoints import verifier_key
from app.audit.events import AuditAction
from app.audit.schema import entries_ddl, expression
from app.audit.service import AuditFilter, query_entries
from app.audit.verify import verify_log
from app.db import make_engine, make_sessionmaker, transaction
from tests.audit.conftest import ORIGIN, AuditLog

pytestmark = pytest.mark.slow


def _only(log: AuditLog, backend: str, why: str) -> None:
    if log.backend != backend:
        pytest.skip(f"{backend} only: {why}")


# --- a second row with an entry's id (PostgreSQL) -----------------------------------------


def test_duplicate_entry_id_is_reported(tampered: AuditLog) -> None:
    """The attacker drops the entries' primary key and adds a second row with the id of
    entry 7, saying something else. The fast path reads bodies by id into a dict (the last
    row wins: the genuine one, moved to the end of the heap by a no-op UPDATE), the
    unsequenced check sees an entry with a position, the schema check ignores constraints:
    `verify` says ok, while the auditor's view shows the forged row (and, through the ORM's
    identity map, shows it in place of the genuine entry 7)."""
    _only(tampered, "postgresql", "a SQLite rowid cannot repeat")
    target = tampered.entry_id(7)
    genuine = str(tampered.sql("SELECT body FROM audit_entries WHERE id = :i", i=target)[0][0])
    g = decode_body(genuine)
    forged = encode_body(
        at=g.at + timedelta(seconds=1),  # sorts first in the view (newest first)
        action="case.searched",
        actor_id=g.actor_id,
        actor_role=g.actor_role,
        object_type=g.object_type,
        object_id=g.object_id,
        fields=g.fields,
    )
    tampered.sql("ALTER TABLE audit_entries DROP CONSTRAINT pk_audit_entries CASCADE")
    tampered.sql("INSERT INTO audit_entries (id, body) VALUES (:i, :b)", i=target, b=forged)
    tampered.sql(  # the genuine row now lies after the forged one in the heap
        "UPDATE audit_entries SET body = body WHERE id = :i AND body = :b", i=target, b=genuine
    )
    with transaction(tampered.factory) as s:
        page = query_entries(s, per_page=200)
        shown = [r.as_dict()["action"] for r in page.items if r.entry.id == target]
    assert page.total == 21
    assert shown == ["case.searched", "case.searched"]  # the genuine "case.read" is gone
    report = tampered.verify()
    assert not report.ok, "a forged entry sharing entry 7's id passed verification"


# --- functions shadowed through search_path (PostgreSQL) ----------------------------------


def test_shadowed_function_in_search_path_is_an_altered_schema(tampered: AuditLog) -> None:
    """The attacker (database owner) puts a schema before pg_catalog in the database's
    search_path, with its own `make_timestamp`, and regenerates `at` under it. The live
    expression now calls evil.make_timestamp; the verifier's reference table, built in the
    same session, calls it too, and both render as `make_timestamp(...)`: the schema reads
    as intact, the fast path hashes bodies, `verify` says ok. Every entry's `at` column is
    30 days early: the auditor's time filters and the 24-hour alerts no longer see them."""
    _only(tampered, "postgresql", "search_path")
    db = tampered.engine.url.database
    tampered.sql("CREATE SCHEMA evil")
    tampered.sql(
        "CREATE FUNCTION evil.make_timestamp(int, int, int, int, int, float8) "
        "RETURNS timestamp LANGUAGE sql IMMUTABLE "
        "AS 'SELECT pg_catalog.make_timestamp($1, $2, $3, $4, $5, $6) - interval ''30 days'''"
    )
    tampered.sql(f'ALTER DATABASE "{db}" SET search_path = evil, pg_catalog, "$user", public')
    tampered.engine.dispose()  # new sessions take the database's search_path
    tampered.sql("ALTER TABLE audit_entries DROP COLUMN at")
    tampered.sql(
        "ALTER TABLE audit_entries ADD COLUMN at TIMESTAMP WITH TIME ZONE GENERATED ALWAYS "
        f"AS ({expression('postgresql', 'at')}) STORED NOT NULL"
    )
    tampered.sql("CREATE INDEX ix_audit_entries_at ON audit_entries (at)")
    tampered.sql("CREATE INDEX ix_audit_entries_actor_at ON audit_entries (actor_id, at)")
    with transaction(tampered.factory) as s:
        since = datetime.now(UTC) - timedelta(days=1)
        assert query_entries(s, AuditFilter(since=since)).total == 0  # all 20 hidden
    report = tampered.verify()
    assert not report.ok, "a generation expression calling evil.make_timestamp passed"


# --- row-level security shows the verifier what it hides from the auditor -----------------


def test_row_security_policy_is_an_altered_schema(tampered: AuditLog) -> None:
    """The table owner enables row-level security with a policy that hides entry 7 from
    queries that look like the ORM's (`audit_entries.`), not from the verifier's raw SQL.
    The application role (not the owner, as SECURITY.md asks) then sees 19 entries in the
    auditor's view, and `verify` on the same role's connection says ok."""
    _only(tampered, "postgresql", "row-level security")
    role = f"haven_app_{secrets.token_hex(4)}"
    tampered.sql(f"CREATE ROLE {role} LOGIN")
    engine = None
    try:
        tampered.sql(
            f"GRANT SELECT, INSERT ON audit_entries, audit_leaves, audit_checkpoints TO {role}"
        )
        tampered.sql(f"GRANT SELECT, UPDATE ON audit_head TO {role}")
        tampered.sql(f"GRANT SELECT, INSERT, DELETE ON audit_pending TO {role}")
        hidden = tampered.entry_id(7)
        tampered.sql("ALTER TABLE audit_entries ENABLE ROW LEVEL SECURITY")
        tampered.sql(
            "CREATE POLICY shown ON audit_entries FOR SELECT USING (id <> "
            f"{hidden} OR strpos(current_query(), 'audit_entries.') = 0)"
        )
        engine = make_engine(tampered.engine.url.set(username=role).render_as_string(False))
        with transaction(make_sessionmaker(engine)) as s:
            page = query_entries(s, per_page=200)
            assert page.total == 19
            assert hidden not in [r.entry.id for r in page.items]
            key = verifier_key(tampered.keyring, ORIGIN)
            report = verify_log(s, keys=[key], origin=ORIGIN)
        assert not report.ok, "entry 7 hidden from the auditor by a policy, verify ok"
    finally:
        if engine is not None:
            engine.dispose()
        tampered.sql(f"DROP OWNED BY {role}")
        tampered.sql(f"DROP ROLE {role}")


# --- workers open a relative SQLite path from another directory ---------------------------


def test_workers_read_the_database_the_verifier_reads(
    tampered: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default URL is relative (`sqlite:///./var/haven.db`). The verifier resolves it
    against its working directory, the workers against theirs (`cwd=ROOT`, the code
    directory): when another database sits there (a dev database, an older copy), the
    workers hash that one and the verifier believes it. Here an intact copy taken before
    the tampering is what the workers read, so an edited entry 7 passes."""
    _only(tampered, "sqlite", "a file path")
    path = Path(str(tampered.engine.url.database))
    install = tmp_path / "install"
    install.mkdir()
    # An older, intact copy of the log in the directory the workers run in.
    tampered.engine.dispose()
    src, dst = sqlite3.connect(path), sqlite3.connect(install / path.name)
    src.backup(dst)
    src.close()
    dst.close()
    tampered.edit_body(7, '"caseworker"', '"admin"')
    monkeypatch.setattr(workers, "ROOT", install)
    monkeypatch.chdir(path.parent)
    engine = make_engine(f"sqlite:///{path.name}")  # relative, like the default
    try:
        with transaction(make_sessionmaker(engine)) as s:
            key = verifier_key(tampered.keyring, ORIGIN)
            report = verify_log(s, keys=[key], origin=ORIGIN, parallel_min=1)
    finally:
        engine.dispose()
    assert report.first_bad == 7, report.findings


# --- an index that omits an entry, under a schema text that says it does not (SQLite) -----


def test_deep_verification_finds_an_index_hiding_an_entry(tampered: AuditLog) -> None:
    """`PRAGMA writable_schema` (plain SQL on SQLite): the attacker rebuilds the index on
    `action` as a partial index that leaves entry 7 out, then rewrites its text in
    sqlite_master back to the full index. The auditor's filter on action reads the index and
    no longer shows entry 7; the table's DDL is untouched, so `verify` says ok, and so does
    `--deep`, which SECURITY.md offers for an attacker who edits the catalogs directly."""
    _only(tampered, "sqlite", "PRAGMA writable_schema")
    hidden = tampered.entry_id(7)
    (full,) = tampered.sql("SELECT sql FROM sqlite_master WHERE name = 'ix_audit_entries_action'")[
        0
    ]
    path = str(tampered.engine.url.database)
    tampered.engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP INDEX ix_audit_entries_action")
        conn.execute(f"{full} WHERE id <> {hidden}")
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = ? WHERE name = 'ix_audit_entries_action'", (full,)
        )
        conn.execute("PRAGMA writable_schema = RESET")
    finally:
        conn.close()
    tampered.engine.dispose()
    with transaction(tampered.factory) as s:
        page = query_entries(s, AuditFilter(action=AuditAction.CASE_READ), per_page=200)
        assert page.total == 19  # entry 7, a case.read, is not shown
        key = verifier_key(tampered.keyring, ORIGIN)
        report = verify_log(s, keys=[key], origin=ORIGIN, deep=True)
    assert not report.ok, "an index hiding entry 7 from the auditor's filter passed --deep"
    assert report.findings == [
        f"audit_entries fails its integrity check: row {hidden} missing from index "
        "ix_audit_entries_action"
    ]


# --- the table's definition is a contract with every database already made --------------------

SQLITE_DDL = """\
CREATE TABLE audit_entries (
\tid INTEGER NOT NULL,
\tbody TEXT NOT NULL,
\tat DATETIME GENERATED ALWAYS AS (json_extract(body, '$[0]')) VIRTUAL NOT NULL,
\tactor_id CHAR(32) GENERATED ALWAYS AS (json_extract(body, '$[1]')) VIRTUAL,
\tactor_role VARCHAR(32) GENERATED ALWAYS AS (json_extract(body, '$[2]')) VIRTUAL,
\taction VARCHAR(64) GENERATED ALWAYS AS (json_extract(body, '$[3]')) VIRTUAL NOT NULL,
\tobject_type VARCHAR(32) GENERATED ALWAYS AS (json_extract(body, '$[4]')) VIRTUAL,
\tobject_id VARCHAR(64) GENERATED ALWAYS AS (json_extract(body, '$[5]')) VIRTUAL,
\tfields JSON GENERATED ALWAYS AS (json_extract(body, '$[6]')) VIRTUAL NOT NULL,
\toutcome VARCHAR(16) GENERATED ALWAYS AS (json_extract(body, '$[7]')) VIRTUAL NOT NULL,
\trequest_id VARCHAR(32) GENERATED ALWAYS AS (json_extract(body, '$[8]')) VIRTUAL,
\treason_code VARCHAR(64) GENERATED ALWAYS AS (json_extract(body, '$[9]')) VIRTUAL,
\tCONSTRAINT pk_audit_entries PRIMARY KEY (id)
)"""

POSTGRESQL_DDL = (
    "CREATE TABLE audit_entries (\n"
    "\tid BIGSERIAL NOT NULL,\n"
    "\tbody TEXT NOT NULL,\n"
    "\tat TIMESTAMP WITH TIME ZONE GENERATED ALWAYS AS "
    "(make_timestamp(substr((body::jsonb ->> 0), 1, 4)::int, substr((body::jsonb ->> "
    "0), 6, 2)::int, substr((body::jsonb ->> 0), 9, 2)::int, substr((body::jsonb ->> "
    "0), 12, 2)::int, substr((body::jsonb ->> 0), 15, 2)::int, substr((body::jsonb "
    "->> 0), 18, 9)::float8) AT TIME ZONE 'UTC') STORED NOT NULL,\n"
    "\tactor_id UUID GENERATED ALWAYS AS ((body::jsonb ->> 1)::uuid) STORED,\n"
    "\tactor_role VARCHAR(32) GENERATED ALWAYS AS (body::jsonb ->> 2) STORED,\n"
    "\taction VARCHAR(64) GENERATED ALWAYS AS (body::jsonb ->> 3) STORED NOT NULL,\n"
    "\tobject_type VARCHAR(32) GENERATED ALWAYS AS (body::jsonb ->> 4) STORED,\n"
    "\tobject_id VARCHAR(64) GENERATED ALWAYS AS (body::jsonb ->> 5) STORED,\n"
    "\tfields JSON GENERATED ALWAYS AS ((body::jsonb -> 6)::json) STORED NOT NULL,\n"
    "\toutcome VARCHAR(16) GENERATED ALWAYS AS (body::jsonb ->> 7) STORED NOT NULL,\n"
    "\trequest_id VARCHAR(32) GENERATED ALWAYS AS (body::jsonb ->> 8) STORED,\n"
    "\treason_code VARCHAR(64) GENERATED ALWAYS AS (body::jsonb ->> 9) STORED,\n"
    "\tCONSTRAINT pk_audit_entries PRIMARY KEY (id)\n"
    ")"
)


def test_the_entries_table_is_defined_as_existing_databases_hold_it() -> None:
    """Migration 0008 creates audit_entries from `entries_ddl`, and the verifier compares a
    database's table with it: a change here (a type, a NOT NULL, an expression) would call
    every existing log altered, or make new ones unlike the old. So the text is pinned; a
    change needs a migration and this test changed with it."""
    assert entries_ddl("sqlite") == SQLITE_DDL
    assert entries_ddl("postgresql") == POSTGRESQL_DDL
    reference = entries_ddl("postgresql", "audit_reference")
    assert reference == POSTGRESQL_DDL.replace(
        "CREATE TABLE audit_entries", "CREATE TEMP TABLE audit_reference"
    ).replace("pk_audit_entries", "pk_audit_reference")
    with pytest.raises(NotImplementedError, match=r"^audit entries on mysql$"):
        entries_ddl("mysql")
