"""`haven serve` does not let uvicorn rewrite the client address from X-Forwarded-For unless
HAVEN_TRUSTED_PROXIES names the peer: a live server, a new header on every attempt from
127.0.0.1 (where a Tor onion service or a local proxy connects from), and the per-address
sign-in throttle still closes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.security import throttle

HAVEN = str(Path(sys.executable).with_name("haven"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_live_server_ignores_forwarded_for_from_an_unnamed_proxy(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "FORWARDED_"))}
    env |= {
        "HAVEN_DATABASE_URL": f"sqlite:///{tmp_path}/haven.db",
        "HAVEN_KEY_FILE": str(tmp_path / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(tmp_path / "blobs"),
        "HAVEN_SEAL_MODE": "dev",
        "HAVEN_LOG_LEVEL": "WARNING",
    }
    subprocess.run([HAVEN, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [HAVEN, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/api/v1/sys/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        statuses = [
            httpx.post(
                base + "/api/v1/auth/token",
                json={"email": f"spray-{i}@example.invalid", "password": "wrong-password-x"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
                timeout=30,
            ).status_code
            for i in range(throttle.ADDRESS_MAX_FAILURES + 1)
        ]
        assert statuses[:-1] == [401] * throttle.ADDRESS_MAX_FAILURES
        assert statuses[-1] == 429
    finally:
        proc.terminate()
        proc.wait(timeout=10)
