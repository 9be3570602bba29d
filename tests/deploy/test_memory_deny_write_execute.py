"""haven.service sets MemoryDenyWriteExecute=yes. That holds only if nothing Haven loads
needs memory both writable and executable (a JIT, old-style cffi callbacks). Checked here
with the kernel's own switch (PR_SET_MDWE, Linux 6.3+; what systemd uses where it can): a
process that may never gain W+X memory migrates a database, hashes a password, unseals,
serves a request and makes and opens an encrypted backup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WORKLOAD = r"""
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    print("NO-MDWE"); sys.exit(0)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("MDWE-NOT-ENFORCED"); sys.exit(3)
except OSError:
    pass
from pathlib import Path
tmp = Path(sys.argv[1])
import psycopg  # libpq, loaded as on PostgreSQL
from fastapi.testclient import TestClient
from app.backup import age
from app.backup.create import create_backup
from app.backup.restore import verify_backup
from app.config import Environment, SealMode, Settings
from app.crypto import passphrase
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.main import create_app
from app.migrate import upgrade
from app.security import passwords
url = f"sqlite:///{tmp}/haven.db"
upgrade(url)
engine = make_engine(url)
factory = make_sessionmaker(engine)
with transaction(factory) as s:
    initialise_keyring(s, keyring=Keyring(), mode=SealMode.PASSPHRASE,
                       passphrase_text="a passphrase long enough")
ok, _ = passwords.verify_password(passwords.hash_password("another long password 1"),
                                  "another long password 1")
assert ok
settings = Settings(env=Environment.TEST, database_url=url, blob_dir=tmp / "blobs",
                    seal_mode=SealMode.PASSPHRASE, movement_purge_poll_seconds=0)
with TestClient(create_app(settings, engine=engine), base_url="https://testserver") as c:
    unsealed = c.post("/api/v1/sys/unseal", json={"key": "a passphrase long enough"})
    assert unsealed.json()["sealed"] is False
    assert c.get("/login").status_code == 200
identity, recipient = age.generate()
create_backup(database_url=url, blob_dir=tmp / "blobs", out=tmp / "b.age",
              recipients=[age.recipient(recipient)])
assert verify_backup(tmp / "b.age", [age.identity(identity)]).rows["keyring_state"] == 1
engine.dispose()
print("OK")
"""


@pytest.mark.slow
def test_haven_runs_where_memory_may_not_be_writable_and_executable(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_MDWE is Linux's")
    result = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if "NO-MDWE" in result.stdout:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+): not checked here")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK"), result.stdout
