"""A real `haven serve` in a process of its own, on a database of its own, for the tests
that attack the running service as a whole (kill it, cut its database, fill its disk).

Accounts and bearer tokens are made directly in the database with the server's dev root
key (no password work); everything else goes through HTTP like any client."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import auth, bearer, make_team, make_user

HAVEN = str(Path(sys.executable).with_name("haven"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """One service: its folder, database, settings and (while running) its process."""

    folder: Path
    database_url: str
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def blob_dir(self) -> Path:
        return self.folder / "blobs"

    @property
    def key_file(self) -> Path:
        return self.folder / "dev-root.key"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "FORWARDED_"))}
        return env | {
            "HAVEN_DATABASE_URL": self.database_url,
            "HAVEN_KEY_FILE": str(self.key_file),
            "HAVEN_BLOB_DIR": str(self.blob_dir),
            "HAVEN_SEAL_MODE": "dev",
            "HAVEN_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def settings(self) -> Settings:
        return Settings(
            database_url=self.database_url,
            blob_dir=self.blob_dir,
            key_file=self.key_file,
            seal_mode="dev",  # type: ignore[arg-type]
        )

    def init(self) -> None:
        """`haven init`: the schema and the dev root key."""
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [HAVEN, "init"], env=self.env(), cwd=self.folder, check=True, capture_output=True
        )

    def start(self, timeout: float = 90) -> None:
        """`haven serve`, waited for until its health answers."""
        self._log = (self.folder / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [HAVEN, "serve", "--port", str(self.port)],
            env=self.env(),
            cwd=self.folder,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.base + "/api/v1/sys/health", timeout=1).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"haven serve did not come up: {self.log_tail()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no cleanup — a power cut for the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._ended()

    def _ended(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._ended()

    def log_tail(self) -> str:
        path = self.folder / "serve.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A database session with the server's keys, for checking what it stored."""
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine)() as db:
                keyring = Keyring()
                keyring.unseal_from_key_file(db, self.key_file)
                db.info["keyring"] = keyring
                yield db
        finally:
            engine.dispose()

    def staff(
        self, roles: dict[str, Role]
    ) -> tuple[uuid.UUID, dict[str, uuid.UUID], dict[str, dict[str, str]]]:
        """One team with an account per name: the team's id, each account's id and bearer
        header."""
        engine = make_engine(self.database_url)
        try:
            with transaction(make_sessionmaker(engine)) as s:
                keyring = Keyring()
                keyring.unseal_from_key_file(s, self.key_file)
                s.info["keyring"] = keyring
                team = make_team(s)
                users = {
                    n: make_user(s, r, teams=[team], keyring=keyring) for n, r in roles.items()
                }
                clock, settings = FrozenClock(), self.settings()
                headers = {
                    n: auth(bearer(s, u, clock=clock, settings=settings)) for n, u in users.items()
                }
                ids = {n: u.id for n, u in users.items()}
                team_id = team.id
            return team_id, ids, headers
        finally:
            engine.dispose()

    def verify_audit(self) -> subprocess.CompletedProcess[str]:
        """`haven audit verify`, as an operator runs it."""
        return subprocess.run(
            [HAVEN, "audit", "verify"],
            env=self.env(),
            cwd=self.folder,
            capture_output=True,
            text=True,
            check=False,
        )
