"""Migrations are the only way a schema is built, and they match the models exactly."""

import hashlib
import json
import uuid
import warnings
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

import app.models  # noqa: F401 - every table on the metadata
from app.audit.checkpoints import verifier_key
from app.audit.models import AuditEntry
from app.audit.verify import verify_log
from app.crypto.keyring import Keyring
from app.db import Base, make_engine, make_sessionmaker, transaction
from app.migrate import downgrade, upgrade
from tests.conftest import ScratchDatabase


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        with warnings.catch_warnings():
            # SQLite's reflection cannot read an index on an expression (the task list's
            # `(due IS NULL)`), and autogenerate then leaves that index out of the
            # comparison on both sides; it is checked by name below instead.
            warnings.filterwarnings("ignore", message=r".*expression-based index")
            diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return list(diff)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names - {"alembic_version"}


def test_autogenerate_finds_no_difference(fresh_db: ScratchDatabase) -> None:
    upgrade(fresh_db.url)
    assert _diff(fresh_db.url) == []


def test_downgrade_base_then_upgrade_head_round_trips(fresh_db: ScratchDatabase) -> None:
    upgrade(fresh_db.url)
    expected = set(Base.metadata.tables)
    assert _tables(fresh_db.url) == expected
    downgrade(fresh_db.url, "base")
    assert _tables(fresh_db.url) == set()
    upgrade(fresh_db.url)
    assert _tables(fresh_db.url) == expected
    assert _diff(fresh_db.url) == []


def _v1_log(url: str, n: int) -> None:
    """Entries and leaves as releases before 0008 wrote them (encoding v1), n sequenced and
    one more committed without a position."""
    upgrade(url, "0007_users")
    engine = make_engine(url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for i in range(n + 1):
            at = f"2026-05-01 12:00:0{i}.001234"
            values = {
                "at": datetime.fromisoformat(at).replace(tzinfo=UTC) if pg else at,
                "actor": ACTOR if pg else ACTOR.hex,
                "oid": f"HV-2026-00000{i}",
                "fields": '["unit", "legal_name"]',
            }
            conn.execute(
                text(
                    "INSERT INTO audit_entries (id, at, actor_id, actor_role, action, "
                    "object_type, object_id, fields, outcome) VALUES (:id, :at, :actor, "
                    "'caseworker', 'case.read', 'case', :oid, :fields, 'ok')"
                ),
                {"id": i + 1, **values},
            )
            if i == n:
                break
            v1 = json.dumps(
                ["haven-audit/v1", i, i + 1, at, ACTOR.hex, "caseworker", "case.read", "case",
                 values["oid"], ["unit", "legal_name"], "ok", None, None],
                separators=(",", ":"),
            )  # fmt: skip
            conn.execute(
                text("INSERT INTO audit_leaves VALUES (:s, :e, :h)"),
                {"s": i, "e": i + 1, "h": hashlib.sha256(b"\x00" + v1.encode()).digest()},
            )
    engine.dispose()


ACTOR = uuid.UUID(int=7)


def test_a_v1_audit_log_is_re_encoded_and_verifies(fresh_db: ScratchDatabase) -> None:
    """A development database from before 0008 keeps its entries: each v1 leaf is checked
    against its entry, bodies are written from the old columns, leaves and head recomputed,
    and the log verifies."""
    _v1_log(fresh_db.url, 2)
    upgrade(fresh_db.url)
    engine = make_engine(fresh_db.url)
    keyring = Keyring()
    keyring.unseal_with_root(bytes(32))
    with transaction(make_sessionmaker(engine)) as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [e.object_id for e in entries] == [f"HV-2026-00000{i}" for i in range(3)]
        assert entries[2].recorded().at == datetime(2026, 5, 1, 12, 0, 2, 1234, tzinfo=UTC)
        assert entries[0].actor_id == ACTOR
        assert entries[0].fields == ["legal_name", "unit"]
        report = verify_log(s, keys=[verifier_key(keyring, "o")], origin="o")
    assert report.entries == 2
    assert [f for f in report.findings if "no position" not in f] == []
    with pytest.raises(RuntimeError, match="refusing to downgrade"):
        downgrade(fresh_db.url, "0007_users")
    engine.dispose()


def test_a_tampered_v1_log_is_not_laundered_by_re_encoding(fresh_db: ScratchDatabase) -> None:
    _v1_log(fresh_db.url, 3)
    engine = make_engine(fresh_db.url)
    with engine.begin() as conn:
        for statement in (
            ["DROP TRIGGER audit_entries_no_update"]
            if engine.dialect.name == "sqlite"
            else ["DROP TRIGGER audit_entries_append_only ON audit_entries"]
        ):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("UPDATE audit_entries SET actor_role = 'admin' WHERE id = 2")
    engine.dispose()
    with pytest.raises(RuntimeError, match="entry 1 does not match its v1 leaf"):
        upgrade(fresh_db.url)
