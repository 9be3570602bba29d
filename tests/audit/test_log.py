"""record(): the entry lives and dies with the caller's transaction, commits pending and
gets its position from the sequencer, and the tables refuse UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit.canonical import BodyError, decode_body, encode_body, leaf_input, pending_digest
from app.audit.events import AuditAction
from app.audit.log import Target, record, record_each
from app.audit.merkle import leaf_hash
from app.audit.models import AuditEntry, AuditLeaf, AuditPending
from app.audit.tree import read_head, sequence_now, sequence_pending
from app.db import transaction
from app.deps import DbSession
from app.errors import Conflict
from app.policy.deps import PUBLIC
from tests.audit.conftest import AuditLog
from tests.conftest import StatementCounter

Model = type[AuditEntry] | type[AuditLeaf] | type[AuditPending]


def _count(db: Session, model: Model) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_entry_commits_pending_and_the_sequencer_gives_it_its_position(db: Session) -> None:
    sequence_now(db)
    before = _count(db, AuditLeaf)
    entry = record(db, AuditAction.CASE_READ, on=("case", uuid.uuid4()))
    assert db.get(AuditEntry, entry.id) is entry
    db.commit()
    # Committed with its pending row (the digest of its body), and no position yet.
    pending = db.get(AuditPending, entry.id)
    assert pending is not None
    assert pending.digest == pending_digest(entry.id, entry.body)
    assert _count(db, AuditLeaf) == before
    assert sequence_now(db) == 1
    leaf = db.scalars(select(AuditLeaf).where(AuditLeaf.entry_id == entry.id)).one()
    assert leaf.seq == before
    assert leaf.leaf_hash == leaf_hash(leaf_input(leaf.seq, entry.id, entry.body))
    assert db.get(AuditPending, entry.id, populate_existing=True) is None
    assert read_head(db)[0] == before + 1


def test_rolled_back_savepoint_leaves_no_entry_and_no_position(db: Session) -> None:
    sequence_now(db)
    before = _count(db, AuditLeaf)
    nested = db.begin_nested()
    record(db, AuditAction.CASE_UPDATED, fields=["unit"])
    nested.rollback()
    kept = record(db, AuditAction.CASE_READ)
    db.commit()
    assert db.scalars(select(AuditPending.entry_id)).all() == [kept.id]
    sequence_now(db)
    assert _count(db, AuditLeaf) == before + 1
    assert db.scalars(select(AuditLeaf.entry_id).where(AuditLeaf.seq == before)).one() == kept.id


def test_denied_access_leaves_an_entry(db: Session) -> None:
    entry = record(
        db,
        AuditAction.ACCESS_DENIED,
        on=("case", uuid.uuid4()),
        outcome="denied",
        reason="out_of_scope",
    )
    db.commit()
    assert db.get(AuditPending, entry.id) is not None
    sequence_now(db)
    assert db.scalars(select(AuditLeaf).where(AuditLeaf.entry_id == entry.id)).one()


def test_failed_request_leaves_no_entry_and_a_good_one_leaves_one(
    app: object, client: TestClient, db: Session
) -> None:
    router = APIRouter(dependencies=PUBLIC)

    @router.post("/api/v1/_test/audited")
    def audited(session: DbSession, fail: bool = False) -> dict[str, bool]:
        record(session, AuditAction.CASE_UPDATED, on=("case", None), fields=["unit"])
        if fail:
            raise Conflict("refused")
        return {"done": True}

    app.include_router(router)  # type: ignore[attr-defined]
    before, pending = _count(db, AuditEntry), _count(db, AuditPending)
    assert client.post("/api/v1/_test/audited?fail=true").status_code == 409
    assert (_count(db, AuditEntry), _count(db, AuditPending)) == (before, pending)
    assert client.post("/api/v1/_test/audited").status_code == 200
    assert (_count(db, AuditEntry), _count(db, AuditPending)) == (before + 1, pending + 1)
    sequence_now(db)
    assert _count(db, AuditLeaf) == _count(db, AuditEntry)
    assert _count(db, AuditPending) == 0


def test_generated_columns_say_what_the_body_records(audit_log: AuditLog) -> None:
    """The database derives every value column from the body: odd text, microseconds and
    field sets read back exactly, and the log verifies."""
    rng = random.Random(7)
    written = []
    with transaction(audit_log.factory) as s:
        for i in range(40):
            at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
                days=rng.randrange(3000), microseconds=rng.randrange(86_400 * 10**6)
            )
            entry = AuditEntry.of(
                at=at,
                action=AuditAction.BREAK_GLASS.value,
                actor_id=uuid.uuid4() if i % 2 else None,
                actor_role="caseworker" if i % 3 else None,
                object_type="case",
                object_id=f'HV-{i}-\u00e9"q\\',
                fields=["zeta", "alpha", "\u00dcn\u00efcode\u2014field", 'quote"d', "tab\there"],
                reason_code=None if i % 2 else "night_emergency",
            )
            s.add(entry)
            s.flush()
            written.append((entry.id, at))
    with transaction(audit_log.factory) as s:
        for entry_id, at in written:
            again = s.get(AuditEntry, entry_id)
            assert again is not None
            recorded = again.recorded()
            assert recorded.at == at
            assert (again.at, again.actor_id, again.actor_role, again.object_id) == (
                recorded.at,
                recorded.actor_id,
                recorded.actor_role,
                recorded.object_id,
            )
            assert list(again.fields) == recorded.fields == sorted(recorded.fields)
            assert (again.action, again.outcome, again.reason_code) == (
                recorded.action,
                recorded.outcome,
                recorded.reason_code,
            )
    report = audit_log.verify()
    assert report.ok, report.findings


def test_the_encoding_is_the_documented_one() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 8, tzinfo=UTC)
    actor = uuid.UUID(int=0xAB)
    body = encode_body(at=at, action="a", actor_id=actor, fields=["b", "\u00e9", "b"])
    assert body == (
        '["2026-03-04 05:06:07.000008","000000000000000000000000000000ab",null,"a",null,null,'
        '["b","\\u00e9"],"ok",null,null]'
    )
    assert leaf_input(5, 9, body) == b'["haven-audit/v2",5,9,' + body.encode() + b"]"
    assert decode_body(body).fields == ["b", "\u00e9"]
    for not_canonical in (body.replace(",", ", "), body.replace('"b","', '"\\u00e9","b","')):
        with pytest.raises(BodyError):
            decode_body(not_canonical)
    with pytest.raises(ValueError, match="naive"):
        encode_body(at=datetime(2026, 1, 1), action="a")  # noqa: DTZ001 - the point


def test_every_value_of_a_body_reads_back_as_written() -> None:
    """A body with every column set (a refusal: outcome, request id, reason) decodes to the
    same values and is accepted as canonical: a reader or verifier that dropped one of them
    would call every such entry malformed, or show it without its request id."""
    at = datetime(2026, 3, 4, 5, 6, 7, 8, tzinfo=UTC)
    values = {
        "at": at, "action": "access.denied", "actor_id": uuid.UUID(int=0xCD),
        "actor_role": "volunteer", "object_type": "case", "object_id": "c-1",
        "fields": ["notes"], "outcome": "denied", "request_id": "req-7f3a",
        "reason_code": "not_found",
    }  # fmt: skip
    body = encode_body(**values)  # type: ignore[arg-type]
    got = decode_body(body)
    assert {name: getattr(got, name) for name in values} == values
    wrong_shape = (body[: body.rindex(",")] + "]", "{}", '"text"')
    for not_a_body in wrong_shape:
        with pytest.raises(BodyError, match=r"^not a body: wrong shape$"):
            decode_body(not_a_body)
    with pytest.raises(BodyError, match=r"^not a body: JSONDecodeError$"):
        decode_body(body[:-1])
    with pytest.raises(BodyError, match=r"^not a body: not in canonical form$"):
        decode_body(body.replace(",", ", "))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET body = body",
        "DELETE FROM audit_entries",
        "UPDATE audit_leaves SET leaf_hash = leaf_hash",
        "DELETE FROM audit_leaves",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET note = note",
    ],
)
def test_append_only_tables_refuse_changes(audit_log: AuditLog, statement: str) -> None:
    audit_log.write(1)
    audit_log.checkpoint_note()
    with pytest.raises(DBAPIError, match="append-only"):
        audit_log.sql(statement)


def test_truncate_refused_on_postgresql(audit_log: AuditLog) -> None:
    if audit_log.backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused instead)")
    audit_log.write(1)
    for table in ("audit_entries", "audit_leaves", "audit_checkpoints"):
        with pytest.raises(DBAPIError, match="append-only"):
            audit_log.sql(f"TRUNCATE {table} CASCADE")


@pytest.mark.slow
def test_concurrent_writers_and_sequencers_never_fork_or_leave_gaps(audit_log: AuditLog) -> None:
    """Writers (8 on PostgreSQL) in their own connections, some rolling back, while two
    sequencers (as two server processes would run) sequence in their own connections."""
    writers = 8 if audit_log.backend == "postgresql" else 4
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    connections: set[int] = set()
    start = threading.Barrier(writers + 2)
    writing = threading.Event()
    writing.set()
    sequenced: list[int] = []

    def one_transaction(conn: Connection, rng: random.Random, roll_back: bool) -> None:
        with Session(bind=conn) as s:
            ids = [record(s, AuditAction.CASE_READ).id for _ in range(rng.randint(1, 3))]
            time.sleep(rng.random() / 500)
            if roll_back:
                s.rollback()
                return
            s.commit()
        with lock:
            committed.extend(ids)

    def work(n: int) -> None:
        rng = random.Random(n)
        try:
            # A connection of its own for the whole run: on SQLite the writers really do
            # queue for the one write lock (BEGIN IMMEDIATE) rather than share a connection.
            with audit_log.engine.connect() as conn:
                with lock:
                    connections.add(id(conn.connection.dbapi_connection))
                start.wait()
                for i in range(15):
                    one_transaction(conn, rng, roll_back=i % 4 == 3)
        except Exception as exc:  # noqa: BLE001 - any error fails the main thread's assertion
            errors.append(exc)

    def sequencer(wait: bool) -> None:
        try:
            with audit_log.engine.connect() as conn:
                start.wait()
                while writing.is_set():
                    with Session(bind=conn) as s:
                        n = sequence_pending(s, limit=4, wait=wait)
                        s.commit()
                    with lock:
                        sequenced.append(n or 0)
                    time.sleep(0.001)
        except Exception as exc:  # noqa: BLE001 - any error fails the main thread's assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    helpers = [threading.Thread(target=sequencer, args=(w,)) for w in (True, False)]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join()
    writing.clear()
    for t in helpers:
        t.join()
    assert not errors
    assert sum(sequenced) > 0  # the sequencers did work while the writers wrote
    # Every writer had a connection of its own (on SQLite they queue for the one write lock).
    assert len(connections) == writers
    sequence_now(audit_log.factory)  # the tail the sequencers had not reached
    leaves = audit_log.sql("SELECT seq, entry_id FROM audit_leaves ORDER BY seq")
    assert [r[0] for r in leaves] == list(range(len(committed)))  # no gap, no fork
    assert sorted(int(r[1]) for r in leaves) == sorted(committed)  # type: ignore[call-overload]
    assert audit_log.sql("SELECT count(*) FROM audit_entries")[0][0] == len(committed)
    assert audit_log.sql("SELECT count(*) FROM audit_pending")[0][0] == 0
    assert audit_log.verify(external=audit_log.checkpoint_note()).ok


def test_a_second_sequencer_waits_for_the_first(audit_log: AuditLog) -> None:
    """No two transactions can sequence at once: PostgreSQL locks the head row FOR UPDATE;
    SQLite takes its single write lock at BEGIN IMMEDIATE. A second sequencer that cannot
    wait fails instead of forking the tree; a background one skips its turn (PostgreSQL).
    Writers that do not sequence are not held up by the head."""
    audit_log.write(2, sequence=False)
    with audit_log.engine.connect() as conn, conn.begin():
        if audit_log.backend == "postgresql":
            conn.execute(text("SELECT size FROM audit_head WHERE id = 1 FOR UPDATE"))
            audit_log.write(1, sequence=False)  # a request commits its entry meanwhile
        else:
            conn.execute(text("UPDATE audit_head SET updated_at = updated_at WHERE id = 1"))
        with audit_log.engine.connect() as other:
            if audit_log.backend == "postgresql":
                other.execute(text("SET lock_timeout = '100ms'"))
                with Session(bind=other) as s:
                    assert sequence_pending(s, wait=False) is None
            else:
                other.connection.driver_connection.execute("PRAGMA busy_timeout = 100")  # type: ignore[union-attr]
            with Session(bind=other) as s, pytest.raises(DBAPIError):
                sequence_pending(s)
    assert audit_log.sql("SELECT count(*) FROM audit_leaves")[0][0] == 0
    sequence_now(audit_log.factory)  # once the first is gone, sequencing works
    pending = 3 if audit_log.backend == "postgresql" else 2
    assert audit_log.sql("SELECT count(*) FROM audit_leaves")[0][0] == pending
    assert audit_log.verify().ok


def test_a_flush_of_many_entries_marks_them_pending_in_one_statement(
    db: Session, sql_statements: StatementCounter
) -> None:
    on: list[Target | None] = [("case", uuid.uuid4()) for _ in range(5)]
    with sql_statements.counting() as seen:
        entries = record_each(db, AuditAction.CASE_READ, on=on)
    assert sum(s.startswith("INSERT INTO audit_pending") for s in seen) == 1
    db.commit()
    ids = {e.id for e in entries}
    marked = db.scalars(select(AuditPending).where(AuditPending.entry_id.in_(ids))).all()
    assert {p.entry_id: p.digest for p in marked} == {
        e.id: pending_digest(e.id, e.body) for e in entries
    }


def test_an_entry_carries_its_requests_id_and_outcome(db: Session) -> None:
    """The request id joins an entry to the access log's line for the same request (both
    hold it; neither holds a body); outside a request ("-") an entry has none. An act
    recorded without an outcome is "ok"."""
    from app.logs import request_id_var

    token = request_id_var.set("5e1f0c2a9d3b4e7f")
    try:
        one = record(db, AuditAction.CASE_READ, on=("case", "c-1"))
        many = record_each(db, AuditAction.CASE_READ, on=[("case", "c-2"), ("case", "c-3")])
    finally:
        request_id_var.reset(token)
    outside = record_each(db, AuditAction.CASE_READ, on=[("case", "c-4")])
    assert [e.request_id for e in (one, *many)] == ["5e1f0c2a9d3b4e7f"] * 3
    assert [e.recorded().request_id for e in (one, *many)] == ["5e1f0c2a9d3b4e7f"] * 3
    assert outside[0].request_id is None
    assert {e.outcome for e in (one, *many, *outside)} == {"ok"}


def test_audit_times_are_utc_whatever_the_servers_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A time given in Moscow's zone, on a server set to Kyiv's, is written as UTC."""
    from zoneinfo import ZoneInfo

    from app.audit.canonical import at_text

    monkeypatch.setenv("TZ", "Europe/Kyiv")
    time.tzset()
    try:
        at = datetime(2026, 3, 4, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
        assert at_text(at) == "2026-03-04 09:00:00.000000"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    with pytest.raises(
        ValueError, match=r"^naive datetime refused: audit times are timezone-aware UTC$"
    ):
        at_text(datetime(2026, 3, 4, 12, 0))  # noqa: DTZ001 - the point


def test_a_body_of_the_wrong_types_names_the_error() -> None:
    with pytest.raises(BodyError, match=r"^not a body: TypeError$"):
        decode_body("[1,2,3,4,5,6,7,8,9,10]")
