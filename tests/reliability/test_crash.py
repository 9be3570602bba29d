"""A real `haven serve` killed with SIGKILL while 8 clients create, update, upload and
read: after a restart every acknowledged write is there and intact, nothing half-written
remains (partial and orphaned blobs swept at start, each removal audited), and the audit
log verifies — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry, AuditLeaf, AuditPending
from app.documents.models import Document
from app.policy.permissions import Role
from tests.conftest import ScratchDatabase
from tests.reliability.live import LiveServer

pytestmark = pytest.mark.slow

CLIENTS = 8
RUN_SECONDS = 3.0


@dataclass
class Ledger:
    """What the server acknowledged to one client, and what it may have done unanswered."""

    cases: dict[str, set[str]] = field(default_factory=dict)  # id -> acceptable `family`
    documents: dict[tuple[str, str], str] = field(default_factory=dict)  # (case, doc) -> sha
    acknowledged: int = 0
    errors: list[str] = field(default_factory=list)


def _client_loop(base: str, headers: dict[str, str], stop: threading.Event, out: Ledger) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        while not stop.is_set():
            try:
                family = f"household {secrets.token_hex(4)}"
                r = http.post(
                    "/api/v1/cases",
                    json={"legal_name": f"Synthetic {secrets.token_hex(3)}", "family": family},
                )
                if r.status_code != 201:
                    out.errors.append(f"create {r.status_code}")
                    continue
                case = r.json()
                out.cases[case["id"]] = {family}
                out.acknowledged += 1
                changed = f"household {secrets.token_hex(4)}"
                # Unanswered, this write may or may not have landed: either value is right.
                out.cases[case["id"]].add(changed)
                r = http.patch(
                    f"/api/v1/cases/{case['id']}",
                    json={"version": case["version"], "family": changed},
                )
                if r.status_code == 200:
                    out.cases[case["id"]] = {changed}
                    out.acknowledged += 1
                body = secrets.token_bytes(2048) + b"%%EOF"
                r = http.post(
                    f"/api/v1/cases/{case['id']}/documents",
                    files={"file": ("scan.bin", body, "application/octet-stream")},
                )
                if r.status_code == 201:
                    out.documents[(case["id"], r.json()["id"])] = hashlib.sha256(body).hexdigest()
                    out.acknowledged += 1
                http.get(f"/api/v1/cases/{case['id']}")
            except httpx.TransportError:
                if stop.is_set():
                    return
                time.sleep(0.05)  # the server is gone: nothing was acknowledged


def test_a_killed_server_keeps_every_acknowledged_write(
    fresh_db: ScratchDatabase, tmp_path: Path
) -> None:
    server = LiveServer(tmp_path / "haven", fresh_db.url)
    server.init()
    _, _, headers = server.staff({f"worker{i}": Role.CASEWORKER for i in range(CLIENTS)})
    server.start()
    ledgers = [Ledger() for _ in range(CLIENTS)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=_client_loop, args=(server.base, h, stop, ledger), daemon=True)
        for h, ledger in zip(headers.values(), ledgers, strict=True)
    ]
    try:
        for t in threads:
            t.start()
        time.sleep(RUN_SECONDS)
        server.kill()  # mid-flight: requests are in every stage of their work
        stop.set()
        for t in threads:
            t.join(timeout=30)
        # What a crash can leave in the blob folder, as if an upload were cut off mid-write.
        server.blob_dir.mkdir(parents=True, exist_ok=True)
        (server.blob_dir / f"{uuid.uuid4().hex}.part").write_bytes(b"\x00" * 64)
        server.extra_env["HAVEN_BLOB_SWEEP_GRACE_SECONDS"] = "0"
        server.start()
        acknowledged = sum(ledger.acknowledged for ledger in ledgers)
        assert acknowledged >= CLIENTS, "the clients barely wrote: the test proves nothing"
        lost = []
        merged_cases = {k: v for ledger in ledgers for k, v in ledger.cases.items()}
        merged_docs = {k: v for ledger in ledgers for k, v in ledger.documents.items()}
        # Each client's own token reads its own cases (caseworkers see cases assigned to them).
        for ledger, h in zip(ledgers, headers.values(), strict=True):
            with httpx.Client(base_url=server.base, headers=h, timeout=30) as http:
                for case_id, acceptable in ledger.cases.items():
                    r = http.get(f"/api/v1/cases/{case_id}")
                    if r.status_code != 200 or r.json()["family"] not in acceptable:
                        lost.append(f"case {case_id}: {r.status_code}")
                for (case_id, doc_id), sha in ledger.documents.items():
                    r = http.get(f"/api/v1/cases/{case_id}/documents/{doc_id}")
                    if r.status_code != 200 or hashlib.sha256(r.content).hexdigest() != sha:
                        lost.append(f"document {doc_id}: {r.status_code}")
        assert lost == [], lost
        assert merged_cases
        assert merged_docs
    finally:
        stop.set()
        server.stop()
    # Nothing half-written: every blob has its row, no partial upload remains.
    with server.session() as db:
        rows = set(db.scalars(select(Document.blob_id)))
        on_disk = list(server.blob_dir.iterdir())
        assert not [p for p in on_disk if p.name.endswith(".part")]
        assert {uuid.UUID(hex=p.name) for p in on_disk} == rows
        swept = db.scalars(select(AuditEntry).where(AuditEntry.action == "blob.swept")).all()
        assert any(e.reason_code == "partial" for e in swept)
    verified = server.verify_audit()
    assert verified.returncode == 0, verified.stdout + verified.stderr
    print(
        f"crash: {acknowledged} writes acknowledged by {CLIENTS} clients, 0 lost; "
        f"{len(swept)} blobs swept at restart"
    )


def test_a_crash_between_commit_and_sequencing_loses_no_audit_entry(
    fresh_db: ScratchDatabase, tmp_path: Path
) -> None:
    """Reads acknowledged by a server whose sequencer is off (their entries committed,
    none given a position), then SIGKILL: the restarted server's sequencer gives every one
    of them its position, and the log verifies."""
    server = LiveServer(tmp_path / "haven", fresh_db.url)
    server.init()
    _, _, headers = server.staff({"worker": Role.CASEWORKER})
    server.extra_env["HAVEN_AUDIT_SEQUENCE_POLL_SECONDS"] = "0"
    server.start()
    try:
        with httpx.Client(base_url=server.base, headers=headers["worker"], timeout=30) as http:
            r = http.post("/api/v1/cases", json={"legal_name": "Synthetic Reader"})
            assert r.status_code == 201
            case_id = r.json()["id"]
            for _ in range(5):
                assert http.get(f"/api/v1/cases/{case_id}").status_code == 200
        server.kill()
        with server.session() as db:
            reads = db.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.action == "case.read", AuditEntry.object_id == case_id
                )
            ).all()
            assert len(reads) >= 5  # each acknowledged read's entry committed ...
            unsequenced = db.scalars(select(AuditPending.entry_id)).all()
            assert set(reads) <= set(unsequenced)  # ... and none sequenced before the kill
        del server.extra_env["HAVEN_AUDIT_SEQUENCE_POLL_SECONDS"]
        server.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with server.session() as db:
                if not db.scalars(select(AuditPending.entry_id)).all():
                    break
            time.sleep(0.2)
    finally:
        server.stop()
    with server.session() as db:
        placed = set(db.scalars(select(AuditLeaf.entry_id)))
        assert set(reads) <= placed
        assert db.scalars(select(AuditPending.entry_id)).all() == []
    verified = server.verify_audit()
    assert verified.returncode == 0, verified.stdout + verified.stderr
