"""Two real `haven serve` processes on one PostgreSQL, as an operator runs them: each unsealed
on its own with `haven unseal --url`, a token from one works on the other, `haven seal` on
one is followed by the other within seconds, and the other is unsealed again on its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest

from tests.conftest import new_database

PASSPHRASE = "two servers share one passphrase"
HAVEN = str(Path(sys.executable).parent / "haven")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAVEN, *args], env=env, input=stdin, text=True, capture_output=True, timeout=120,
        check=False,
    )  # fmt: skip


def _health(url: str) -> dict[str, object]:
    return dict(httpx.get(f"{url}/api/v1/sys/health", timeout=2).json())


def _serve(stack: ExitStack, env: dict[str, str], cwd: Path) -> str:
    port = _free_port()
    proc = subprocess.Popen([HAVEN, "serve", "--port", str(port)], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    stack.callback(proc.wait, 10)
    stack.callback(proc.terminate)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _health(url)
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.2)
        else:
            return url


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    db = new_database("postgresql", tmp_path)
    try:
        yield {
            **os.environ,
            "HAVEN_DATABASE_URL": db.url,
            "HAVEN_BLOB_DIR": str(tmp_path / "blobs"),
            "HAVEN_SEAL_MODE": "passphrase",
            "HAVEN_SECURE_COOKIES": "0",
            "HAVEN_SEAL_FOLLOW_POLL_SECONDS": "0.5",
        }
    finally:
        db.drop()


@pytest.mark.slow
def test_two_servers_share_sessions_and_follow_a_seal(env: dict[str, str], tmp_path: Path) -> None:
    assert _run(env, "init", stdin=PASSPHRASE + "\n").returncode == 0
    made = _run(
        env, "user", "add", "coord@example.invalid", "--role", "coordinator", "--team", "One",
        "--password-stdin", "--json", stdin=f"first long password 1\n{PASSPHRASE}\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    account = json.loads(made.stdout)
    secret = parse_qs(urlparse(account["totp_uri"]).query)["secret"][0]
    with ExitStack() as stack:
        a, b = _serve(stack, env, tmp_path), _serve(stack, env, tmp_path)
        assert _health(a)["sealed"] is True
        assert _health(b)["sealed"] is True
        for url in (a, b):  # each is unsealed on its own
            done = _run(env, "unseal", "--url", url, stdin=PASSPHRASE + "\n")
            assert done.returncode == 0, done.stderr
        token = httpx.post(
            f"{a}/api/v1/auth/token",
            json={
                "email": account["email"],
                "password": "first long password 1",
                "new_password": "juniper-lantern-drifts-42",
                "totp": pyotp.TOTP(secret).now(),
            },
        )
        assert token.status_code == 200, token.text
        bearer = token.json()["access_token"]
        me = httpx.get(f"{b}/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
        assert me.status_code == 200, me.text

        sealed = _run(env, "seal", "--url", a, "--token", bearer)
        assert sealed.returncode == 0, sealed.stderr
        deadline = time.monotonic() + 10
        while _health(b)["sealed"] is False and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _health(b)["sealed"] is True, "the second server did not follow the seal"
        auth = {"Authorization": f"Bearer {bearer}"}
        assert httpx.get(f"{b}/api/v1/me", headers=auth).status_code == 503

        assert _run(env, "unseal", "--url", b, stdin=PASSPHRASE + "\n").returncode == 0
        time.sleep(1.5)  # three polls: the old seal is not news to it
        assert _health(b)["sealed"] is False
        assert _health(a)["sealed"] is True
        # Every session ended at the seal, on both.
        again = httpx.get(f"{b}/api/v1/me", headers=auth)
        assert again.status_code == 401
