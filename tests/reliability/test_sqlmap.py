"""sqlmap (Debian's) against the routes that take search terms and credentials — name
search, the duplicate check and sign-in — with a valid token, in a bounded mode (level 2,
risk 1; boolean, error, union and stacked techniques: time-based tests read a loaded
machine's slowness as an injection). Nothing may be found injectable. Skipped, saying so,
where sqlmap is not installed (`make sqlmap` installs it and runs this alone)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.policy.permissions import Role
from tests.reliability.live import LiveServer

pytestmark = pytest.mark.slow

SQLMAP = shutil.which("sqlmap")
TARGETS = {
    "search": ("/api/v1/cases/search", {"name": "Ivan", "phone": "+37060000000"}, True),
    "duplicates": (
        "/api/v1/cases/duplicates",
        {"legal_name": "Ivan Petrov", "date_of_birth": "1990-01-01"},
        True,
    ),
    "sign-in": (
        "/api/v1/auth/token",
        {"email": "someone@example.invalid", "password": "not-the-password", "totp": "123456"},
        False,
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveServer, str]:
    if SQLMAP is None:
        pytest.skip("sqlmap is not installed (apt-get install sqlmap, or make sqlmap)")
    folder = tmp_path_factory.mktemp("sqlmap")
    live = LiveServer(folder, f"sqlite:///{folder}/haven.db")
    live.init()
    _, _, headers = live.staff({"worker": Role.CASEWORKER})
    live.start()
    yield live, headers["worker"]["Authorization"]
    live.stop()


@pytest.mark.parametrize("target", list(TARGETS))
def test_nothing_injectable(server: tuple[LiveServer, str], target: str, tmp_path: Path) -> None:
    live, token = server
    path, body, authorised = TARGETS[target]
    headers = "Content-Type: application/json"
    if authorised:
        headers += f"\nAuthorization: {token}"
    assert SQLMAP is not None
    run = subprocess.run(
        [
            SQLMAP,
            "-u",
            live.base + path,
            "--data",
            json.dumps(body),
            "--headers",
            headers,
            "--method",
            "POST",
            "--batch",
            "--level",
            "2",
            "--risk",
            "1",
            "--technique",
            "BEUS",
            "--timeout",
            "15",
            "--retries",
            "1",
            "--ignore-code",
            "401,403,409,422,429",
            "--output-dir",
            str(tmp_path),
            "--flush-session",
            "--disable-coloring",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = run.stdout
    assert "identified the following injection point" not in out, out[-4000:]
    assert "is vulnerable" not in out, out[-4000:]
    assert "do not appear to be injectable" in out or "not injectable" in out, out[-4000:]
    print(f"sqlmap {target}: nothing injectable")
