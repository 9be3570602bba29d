"""Twenty clients editing one case at once through a real server: each write succeeds or is
refused with 409, the final state is the last of the acknowledged writes, and the
revisions and the audit log tell the same sequence — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.policy.permissions import Role
from tests.conftest import ScratchDatabase
from tests.reliability.live import LiveServer

pytestmark = pytest.mark.slow

CLIENTS = 20
TRIES = 4


def test_twenty_editors_of_one_case(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "haven", fresh_db.url)
    server.init()
    _, _, headers = server.staff({"coordinator": Role.COORDINATOR})
    h = headers["coordinator"]
    server.start()
    acked: list[tuple[int, str]] = []
    refused: list[int] = []
    other: list[str] = []
    lock = threading.Lock()
    try:
        with httpx.Client(base_url=server.base, headers=h, timeout=30) as http:
            made = http.post("/api/v1/cases", json={"family": "start"})
            assert made.status_code == 201, made.text
            case_id = made.json()["id"]
        url = f"/api/v1/cases/{case_id}"
        go = threading.Barrier(CLIENTS)

        def editor(n: int) -> None:
            with httpx.Client(base_url=server.base, headers=h, timeout=60) as http:
                go.wait()
                for attempt in range(TRIES):
                    version = http.get(url).json()["version"]
                    value = f"edit {n}.{attempt}"
                    r = http.patch(url, json={"version": version, "family": value})
                    with lock:
                        if r.status_code == 200:
                            acked.append((r.json()["version"], value))
                            return
                        if r.status_code == 409:
                            refused.append(n)
                        else:
                            other.append(f"{r.status_code} {r.text[:80]}")
                            return

        threads = [threading.Thread(target=editor, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert other == [], other
        assert acked, "no write succeeded"
        versions = sorted(v for v, _ in acked)
        assert len(set(versions)) == len(versions), "two writes acknowledged the same version"
        with httpx.Client(base_url=server.base, headers=h, timeout=30) as http:
            final = http.get(url).json()
            history = http.get(f"{url}/history", params={"per_page": 100}).json()["items"]
        in_order = [value for _, value in sorted(acked)]
        assert final["family"] == in_order[-1]
        assert final["version"] == max(versions)
        revised = [
            r["changes"]["family"]["new"]
            for r in sorted(history, key=lambda r: r["version"])
            if "family" in r["fields"] and r["changes"].get("family", {}).get("old") is not None
        ]
        assert revised == in_order
        with server.session() as db:
            updates = db.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "case.updated", AuditEntry.object_id == case_id)
            )
        assert updates == len(acked)
    finally:
        server.stop()
    verified = server.verify_audit()
    assert verified.returncode == 0, verified.stdout
    print(f"concurrent edits: {len(acked)} acknowledged, {len(refused)} refused with 409")
