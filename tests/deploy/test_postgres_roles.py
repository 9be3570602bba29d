"""deploy/postgres/roles.sql on a real PostgreSQL: the service's role writes case data and
appends to the audit log, and is refused every UPDATE, DELETE and TRUNCATE of the log, every
change to the schema and to its triggers. Each test run uses roles of its own (the role
names in the file, suffixed), in a database of its own."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError

from app.audit.checkpoints import take_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.tree import sequence_now
from app.audit.verify import verify_log
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade
from app.reports import counts
from tests.conftest import POSTGRES_URL

ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "roles.sql"
CHANGES_TO_THE_LOG = (
    "UPDATE audit_entries SET body = body",
    "DELETE FROM audit_entries",
    "TRUNCATE audit_entries",
    "UPDATE audit_leaves SET seq = seq",
    "DELETE FROM audit_leaves",
    "TRUNCATE audit_leaves",
    "UPDATE audit_checkpoints SET note = note",
    "DELETE FROM audit_checkpoints",
    "TRUNCATE audit_checkpoints",
    "UPDATE audit_pending SET digest = digest",
    "TRUNCATE audit_pending",
)


@dataclass
class Installation:
    database: str
    migrator: str
    app: str
    admin: Engine
    sql: Path

    def url(self, user: str) -> str:
        base = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
        return base.set(username=user, password=None, database=self.database).render_as_string(
            hide_password=False
        )

    def run_roles_sql(self) -> None:
        psql = shutil.which("psql")
        assert psql is not None
        superuser = make_url(POSTGRES_URL).set(database=self.database)
        result = subprocess.run(
            [
                psql,
                superuser.set(drivername="postgresql").render_as_string(hide_password=False),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                str(self.sql),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests skipped: HAVEN_TEST_POSTGRES_URL is not set")
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed: roles.sql is a psql script")
    suffix = secrets.token_hex(4)
    database, migrator, app = f"haven_roles_{suffix}", f"hvm_{suffix}", f"hva_{suffix}"
    sql = tmp_path / "roles.sql"
    sql.write_text(
        ROLES_SQL.read_text().replace("haven_migrator", migrator).replace("haven_app", app)
    )
    admin = create_engine(
        make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    inst = Installation(database, migrator, app, admin, sql)
    try:
        yield inst
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            for role in (app, migrator):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def refused(engine: Engine, statement: str) -> str:
    """The error PostgreSQL gives the statement (the test fails if it runs)."""
    with engine.connect() as conn, pytest.raises(ProgrammingError) as caught:
        conn.execute(text(statement))
    return str(caught.value.orig)


def test_the_service_role_appends_to_the_audit_log_and_can_change_nothing_in_it(
    installation: Installation,
) -> None:
    installation.run_roles_sql()  # before `haven init`: roles, schema
    upgrade(installation.url(installation.migrator))  # `haven init` as the migrator
    installation.run_roles_sql()  # after it: grants on the tables that now exist

    service = make_engine(installation.url(installation.app))
    try:
        factory = make_sessionmaker(service)
        with transaction(factory) as session:
            record(session, AuditAction.KEY_ROTATED, on=("kek", "1"), reason="started")
        with transaction(factory) as session:
            record(session, AuditAction.KEY_ROTATED, on=("kek", "2"), reason="started")
        assert sequence_now(factory) == 2  # the service's role runs the sequencer
        keyring = Keyring()
        keyring.unseal_with_root(secrets.token_bytes(32))
        with transaction(factory) as session:
            take_checkpoint(session, keyring=keyring, origin="haven.test/audit")
        with transaction(factory) as session:
            key = verifier_key(keyring, "haven.test/audit")
            assert verify_log(session, keys=[key], origin="haven.test/audit").ok
        with transaction(factory) as session:
            # `haven reports rebuild` runs as the service: what it needs (no temporary
            # table) the role has.
            assert counts.rebuild(session) == (0, 0)
        with service.connect() as conn:
            assert conn.execute(text("SELECT current_schema()")).scalar() == "haven"
            assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 2

        for statement in CHANGES_TO_THE_LOG:
            # Refused by the grants themselves, before any trigger runs.
            assert "permission denied" in refused(service, statement), statement
        assert "must be owner" in refused(
            service, "DROP TRIGGER audit_entries_append_only ON audit_entries"
        )
        assert "must be owner" in refused(service, "ALTER TABLE audit_entries DISABLE TRIGGER ALL")
        assert "permission denied" in refused(
            service, "UPDATE alembic_version SET version_num = 'x'"
        )
        assert "permission denied" in refused(service, "CREATE TABLE haven.sneaky (id int)")
        with service.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 2
    finally:
        service.dispose()


def test_a_new_table_stays_closed_to_the_service_until_roles_sql_runs_again(
    installation: Installation,
) -> None:
    installation.run_roles_sql()
    upgrade(installation.url(installation.migrator))
    migrator = make_engine(installation.url(installation.migrator))
    service = make_engine(installation.url(installation.app))
    try:
        with migrator.begin() as conn:
            conn.execute(text("CREATE TABLE later_table (id int)"))
        assert "permission denied" in refused(service, "SELECT * FROM later_table")
        installation.run_roles_sql()
        with service.begin() as conn:
            conn.execute(text("INSERT INTO later_table VALUES (1)"))
    finally:
        migrator.dispose()
        service.dispose()
