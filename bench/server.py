"""The benchmark's server process and the working copy of a dataset it serves.

A run must not change the cached dataset (every read appends an audit entry, the intake
figure adds cases), so each scale step serves a copy: the SQLite file copied, or on
PostgreSQL a database made from the dataset's as a template (`bench_run_*`), dropped after.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


# The server counts as idle when it used at most this share of a core over this many seconds
# (its background pollers tick a few times a second).
IDLE_CPU, IDLE_WINDOW = 0.05, 1.0


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg itself takes it (no `+psycopg`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _split_pg(url: str) -> tuple[str, str]:
    server, _, name = url.partition("?")[0].rpartition("/")
    return server, name


@contextlib.contextmanager
def working_copy(env: dict[str, str], workdir: Path) -> Iterator[dict[str, str]]:
    """The dataset's settings pointed at a fresh copy of its database (and an empty blob
    folder: no figure reads a document's content)."""
    url = env["HAVEN_DATABASE_URL"]
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "blobs").mkdir(parents=True, mode=0o700)
    copy = {**env, "HAVEN_BLOB_DIR": str(workdir / "blobs")}
    if url.startswith("sqlite"):
        source = Path(url.split("///", 1)[1])
        for part in source.parent.glob(source.name + "*"):
            shutil.copy2(part, workdir / part.name.replace(source.name, "haven.db", 1))
        copy["HAVEN_DATABASE_URL"] = f"sqlite:///{workdir / 'haven.db'}"
        yield copy
        return
    import psycopg

    server, name = _split_pg(url)
    target = f"bench_run_{name}"[:63]
    admin = libpq_url(f"{server}/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{name}" STRATEGY FILE_COPY')
    copy["HAVEN_DATABASE_URL"] = f"{server}/{target}"
    try:
        yield copy
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`python -m bench.floor` (haven serve plus the floor route) in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.floor",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env={**os.environ, **env},
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped at start; see {self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/api/v1/sys/health", timeout=5).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer within {timeout} s; see {self.log}")

    def settle(self, timeout: float = 600) -> None:
        """Wait for the requests wrk left in flight (a sign-in's Argon2 or a slow list
        outlasts the run that sent it): until no connection to the server is open, its
        side of each closed connection included (CLOSE_WAIT lasts until it has answered),
        then until the server is idle (the audit sequencer catching up on a read run's
        entries, say), so that no figure pays for the one before it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.open_connections():
            time.sleep(0.5)
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(IDLE_WINDOW)
            if self.cpu_seconds() - before <= IDLE_CPU * IDLE_WINDOW:
                return

    def open_connections(self) -> int:
        """Connections to the server's port still established or awaiting its answer."""
        port = f"{self.port:04X}"
        count = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":" + port) and fields[3] in {"01", "08"}:
                count += 1
        return count

    @property
    def pid(self) -> int:
        """The server's process id (uvicorn runs in it: one process, one worker)."""
        return self.process.pid

    def status(self, field: str) -> int:
        """A /proc/PID/status figure in kB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Ctrl-C, as an operator would; killed if it has not ended in 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
