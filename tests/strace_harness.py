"""Run the real server (`haven serve`, dev seal mode, temporary folders) under strace and
collect the bytes of every write it makes, to prove a plaintext never reaches a file, a
socket or a pipe (the database file, its WAL, blobs, temp files, logs and responses alike).

Use: `with traced_server(tmp_path, database_url) as server: ...; found = server.scan(...)`.
`server.url` is the base URL; `server.haven(...)` runs a CLI command against the same
installation (not traced); after the block, `server.writes()` holds every payload.

Tracing: `strace -f -e trace=write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg -xx -s N`,
so every byte of every traced call is printed as `\\xNN`; N (default 8 MiB) exceeds any
single write Haven makes (attachments are written in 64 KiB chunks), so nothing is cut.
Where strace is missing or ptrace is not allowed: a failure under CI=true, a skip otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.crypto.canary import hits

SYSCALLS = "write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg"
STRING_LIMIT = 8 * 1024 * 1024
_QUOTED = re.compile(rb'"((?:\\x[0-9a-f]{2})*)"')
_HAVEN = str(Path(sys.executable).with_name("haven"))


def strace_or_skip() -> str:
    """The strace binary, if it can trace here; fail under CI=true, skip otherwise."""
    found = shutil.which("strace")
    problem = None if found else "strace is not installed"
    if found:
        probe = subprocess.run(
            [found, "-f", "-o", os.devnull, "true"], check=False, capture_output=True
        )
        if probe.returncode != 0:
            problem = f"strace cannot trace here: {probe.stderr.decode(errors='replace')[:200]}"
    if problem is None and found is not None:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(problem or "strace unavailable")
    pytest.skip(problem or "strace unavailable")


def payloads(log: bytes) -> list[bytes]:
    """Every written buffer in an `strace -xx` log (one per quoted argument)."""
    return [bytes.fromhex(m.group(1).replace(b"\\x", b"").decode()) for m in _QUOTED.finditer(log)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TracedServer:
    """A server process under strace, and what it wrote."""

    url: str
    env: dict[str, str]
    log_path: Path
    _payloads: list[bytes] | None = field(default=None, repr=False)

    def haven(self, *args: str, stdin: str | None = None) -> str:
        """Run a `haven` command against the same installation (untraced); its stdout."""
        done = subprocess.run(
            [_HAVEN, *args],
            check=False,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def writes(self) -> list[bytes]:
        """Every payload the server wrote (available once the server has stopped)."""
        if self._payloads is None:
            self._payloads = payloads(self.log_path.read_bytes())
        return self._payloads

    def scan(self, canaries: Iterable[str]) -> list[str]:
        """Canary hits (UTF-8, UTF-16, base64) in any write, or across two adjacent writes."""
        canaries = list(canaries)
        found = [h for p in self.writes() for h in hits(p, canaries)]
        return found + [f"(joined) {h}" for h in hits(b"".join(self.writes()), canaries)]


def _environment(tmp: Path, database_url: str) -> dict[str, str]:
    var = tmp / "var"
    var.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env |= {
        "HAVEN_DATABASE_URL": database_url,
        "HAVEN_SEAL_MODE": "dev",
        "HAVEN_KEY_FILE": str(var / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(var / "blobs"),
        "HAVEN_SECURE_COOKIES": "0",
        "HAVEN_AUDIT_CHECKPOINT_POLL_SECONDS": "0",
        "TMPDIR": str(tmp / "tmp"),  # the server's temporary files land in the traced tree
    }
    (tmp / "tmp").mkdir(exist_ok=True)
    return env


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/sys/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the server did not start in time")


@contextmanager
def traced_server(tmp: Path, database_url: str) -> Iterator[TracedServer]:
    """`haven init` (untraced), then `haven serve` under strace until the block ends."""
    strace = strace_or_skip()
    env = _environment(tmp, database_url)
    port = _free_port()
    server = TracedServer(f"http://127.0.0.1:{port}", env, tmp / "strace.log")
    server.haven("init", "--seal-mode", "dev")
    command = [strace, "-f", "-qq", "-e", f"trace={SYSCALLS}", "-xx", "-s", str(STRING_LIMIT),
               "-o", str(server.log_path), _HAVEN, "serve", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(server.url, proc)
        yield server
    finally:
        # strace -f only detaches on SIGINT and leaves its tracee serving: stop the server
        # itself (uvicorn shuts down cleanly), and strace ends with it.
        for child in _children(proc.pid):
            os.kill(child, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for child in _children(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.kill()
            proc.wait()


def _children(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found
