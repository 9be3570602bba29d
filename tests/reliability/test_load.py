"""Load: fifty concurrent clients across the roles' days through a real server (caseworkers
create, update, search and read; coordinators list and assign; volunteers read and note their
tasks; auditors read the log), on SQLite and PostgreSQL: no 5xx, no acknowledged write lost,
the audit log verifies, and the server's memory does not keep growing (RSS sampled every half
second). `make test` runs it for 15 seconds; `make soak` for a minute or more
(HAVEN_LOAD_SECONDS).

On SQLite every request is a write transaction (its audit entry at least), one at a time: the
server queues the requests on its event loop (app/middleware.py WriteQueueMiddleware), and
without that queue this test answers 503 from its first seconds."""

from __future__ import annotations

import os
import secrets
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app.policy.permissions import Role
from tests.conftest import ScratchDatabase
from tests.reliability.live import LiveServer

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("HAVEN_LOAD_SECONDS", "15"))
MIX = {Role.CASEWORKER: 30, Role.COORDINATOR: 8, Role.VOLUNTEER: 8, Role.AUDITOR: 4}
# A smaller share of the clients on SQLite (HAVEN_LOAD_SQLITE_SCALE), for a slow machine.
SQLITE_SCALE = float(os.environ.get("HAVEN_LOAD_SQLITE_SCALE", "1"))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_many_clients(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "haven", fresh_db.url)
    server.init()
    scale = SQLITE_SCALE if fresh_db.backend == "sqlite" else 1.0
    mix = {role: max(1, round(n * scale)) for role, n in MIX.items()}
    names = {f"{role.value}{i}": role for role, n in mix.items() for i in range(n)}
    clients = len(names)
    _, ids, headers = server.staff(names)
    server.start()
    assert server.proc is not None
    pid = server.proc.pid
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    acked: dict[str, str] = {}  # case id -> family as acknowledged
    lock = threading.Lock()
    stop = threading.Event()
    volunteers = [ids[n] for n, r in names.items() if r is Role.VOLUNTEER]
    seeded: list[str] = []

    def call(http: httpx.Client, method: str, url: str, **kw: object) -> httpx.Response:
        started = time.perf_counter()
        r = http.request(method, url, **kw)  # type: ignore[arg-type]
        with lock:
            statuses[r.status_code] += 1
            latencies.append(time.perf_counter() - started)
        return r

    # Work for the volunteers: a task each, made by a coordinator beforehand.
    coordinator = next(n for n, r in names.items() if r is Role.COORDINATOR)
    with httpx.Client(base_url=server.base, headers=headers[coordinator], timeout=60) as http:
        for volunteer in volunteers:
            case = http.post("/api/v1/cases", json={"family": "seed"}).json()
            seeded.append(case["id"])
            r = http.post(
                "/api/v1/tasks",
                json={
                    "case_id": case["id"],
                    "assigned_to": str(volunteer),
                    "title": "Meet at the station",
                    "instructions": "At the clock.",
                },
            )
            assert r.status_code == 201, r.text

    def day(name: str, role: Role) -> None:
        with httpx.Client(base_url=server.base, headers=headers[name], timeout=60) as http:
            while not stop.is_set():
                if role is Role.CASEWORKER:
                    family = f"household {secrets.token_hex(4)}"
                    r = call(http, "POST", "/api/v1/cases", json={"family": family})
                    if r.status_code == 201:
                        case = r.json()
                        with lock:
                            acked[case["id"]] = family
                        again = f"household {secrets.token_hex(4)}"
                        p = call(
                            http,
                            "PATCH",
                            f"/api/v1/cases/{case['id']}",
                            json={"version": case["version"], "family": again},
                        )
                        if p.status_code == 200:
                            with lock:
                                acked[case["id"]] = again
                        call(http, "GET", f"/api/v1/cases/{case['id']}")
                    call(http, "POST", "/api/v1/cases/search", json={"name": "Nobody Here"})
                    call(http, "GET", "/api/v1/cases", params={"mine": "true"})
                elif role is Role.COORDINATOR:
                    call(http, "GET", "/api/v1/cases", params={"per_page": 50})
                    call(http, "GET", "/api/v1/tasks")
                elif role is Role.VOLUNTEER:
                    tasks = call(http, "GET", "/api/v1/tasks").json().get("items", [])
                    for task in tasks[:1]:
                        call(
                            http,
                            "PATCH",
                            f"/api/v1/tasks/{task['id']}",
                            json={"note": f"on my way {secrets.token_hex(2)}"},
                        )
                else:
                    call(http, "GET", "/api/v1/audit", params={"per_page": 50})

    rss: list[int] = []
    threads = [threading.Thread(target=day, args=(n, r), daemon=True) for n, r in names.items()]
    started = time.monotonic()
    try:
        for t in threads:
            t.start()
        while time.monotonic() - started < SECONDS:
            rss.append(_rss_kib(pid))
            time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - started
        lost = []
        by_case = {}
        worker = next(n for n, r in names.items() if r is Role.COORDINATOR)
        with httpx.Client(base_url=server.base, headers=headers[worker], timeout=60) as http:
            for case_id, family in acked.items():
                r = http.get(f"/api/v1/cases/{case_id}")
                by_case[case_id] = r.status_code
                if r.status_code != 200 or r.json()["family"] != family:
                    lost.append(case_id)
    finally:
        stop.set()
        server.stop()
    server_errors = {s: n for s, n in statuses.items() if s >= 500}
    assert server_errors == {}, statuses
    assert lost == [], f"{len(lost)} acknowledged writes lost"
    assert acked, "no write acknowledged"
    verified = server.verify_audit()
    assert verified.returncode == 0, verified.stdout
    # Memory: the second half of the run grows no more than a fifth over the first half.
    half = len(rss) // 2
    first, second = statistics.median(rss[:half]), max(rss[half:])
    assert second <= first * 1.2 + 16_384, f"RSS grew from {first} KiB to {second} KiB"
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99)]
    print(
        f"load ({fresh_db.backend}): {clients} clients, {elapsed:.0f}s, "
        f"{sum(statuses.values())} requests ({sum(statuses.values()) / elapsed:.0f}/s), "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, {len(acked)} writes, 0 lost, "
        f"RSS {min(rss) // 1024}-{max(rss) // 1024} MiB, statuses {dict(statuses)}"
    )
