"""Under strace, the real server never writes a password or an upload's plaintext anywhere:
not to the database file or its WAL, not to a log, a temporary file or a response. A control
proves the harness sees what the server does write.

The attachment test of issue 4 is here too: a large upload's plaintext reaches no write
either (not even a multipart spool file).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from app.security import totp
from app.security.clock import SystemClock
from tests.conftest import ScratchDatabase
from tests.strace_harness import traced_server

pytestmark = pytest.mark.slow

PASSWORD_CANARY = "HAVENCANARYpwQx7zW3-КотЖЪ"
WRONG_CANARY = "HAVENCANARYwrongQ9-ЛисЮЩ"
NEW_PASSWORD_CANARY = "HAVENCANARYnewPw4r-ВолкЁЫ"


def _code(totp_uri: str) -> str:
    secret = parse_qs(urlparse(totp_uri).query)["secret"][0]
    return totp.code_at(secret, totp.current_step(SystemClock().now()))


def test_sign_in_never_writes_the_password(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    with traced_server(tmp_path, fresh_db.url) as server:
        made = json.loads(
            server.haven(
                "user",
                "add",
                "worker@example.invalid",
                "--role",
                "caseworker",
                "--password-stdin",
                "--json",
                stdin=PASSWORD_CANARY + "\n",
            )
        )
        token_url = f"{server.url}/api/v1/auth/token"
        wrong = {"email": made["email"], "password": WRONG_CANARY, "totp": "000000"}
        assert httpx.post(token_url, json=wrong, timeout=30).status_code == 401
        good = {
            "email": made["email"],
            "password": PASSWORD_CANARY,
            "totp": _code(made["totp_uri"]),
            "new_password": NEW_PASSWORD_CANARY,  # the first password works once
        }
        r = httpx.post(token_url, json=good, timeout=30)
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = httpx.get(f"{server.url}/api/v1/me", headers=auth, timeout=30)
        assert me.status_code == 200
        # The form sign-in page path too (a wrong password typed into the form).
        form = {"email": made["email"], "password": WRONG_CANARY}
        httpx.post(f"{server.url}/login", data=form, timeout=30)
    assert server.writes(), "strace recorded no writes at all"
    # Control: what the server does write is seen (the access log line, the reply body).
    assert any(b"/api/v1/auth/token" in p for p in server.writes())
    assert any(b"access_token" in p for p in server.writes())
    # Control: the staff e-mail is stored in plain text (users.email) and returned by /me.
    assert server.scan([made["email"]])
    assert server.scan([PASSWORD_CANARY, WRONG_CANARY, NEW_PASSWORD_CANARY]) == []


def test_the_harness_finds_a_plaintext_the_server_writes(
    fresh_db: ScratchDatabase, tmp_path: Path
) -> None:
    """Control for the scanner: a value the server stores in plain text (a team name) and
    one it echoes (the e-mail of a created account, in the reply) are found."""
    team = "HAVENCANARYteamQx7-Команда"
    with traced_server(tmp_path, fresh_db.url) as server:
        admin = json.loads(server.haven("user", "add", "admin@example.invalid", "--role",
                                        "admin", "--json"))  # fmt: skip
        code = _code(admin["totp_uri"])
        body = {"email": admin["email"], "password": admin["password"], "totp": code,
                "new_password": "slate-heron-counts-58"}  # fmt: skip
        token = httpx.post(f"{server.url}/api/v1/auth/token", json=body, timeout=30).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        r = httpx.post(f"{server.url}/api/v1/teams", json={"name": team}, headers=auth, timeout=30)
        assert r.status_code in (200, 201), r.text
    assert server.scan([team]), "the harness missed a value the server wrote in plain text"


def test_upload_canary_under_strace(fresh_db: ScratchDatabase, tmp_path: Path) -> None:
    """Issue 4: ~5 MiB whose body repeats a canary (ASCII and Cyrillic) is uploaded to the
    real server under strace; no write the server makes (database, WAL, blobs, temporary
    files, logs) holds it in UTF-8, UTF-16 or base64. Control: the encrypted blob is there."""
    body_canaries = ["HAVENCANARYuploadQx7", "ПовесткаКанарейкаЖЪ"]
    body = (" ".join(body_canaries) + "\n").encode() * (5 * 1024 * 1024 // 48)
    with traced_server(tmp_path, fresh_db.url) as server:
        made = json.loads(
            server.haven("user", "add", "intake@example.invalid", "--role", "caseworker",
                         "--team", "Strace team", "--json")
        )  # fmt: skip
        good = {"email": made["email"], "password": made["password"],
                "totp": _code(made["totp_uri"]),
                "new_password": "slate-heron-counts-58"}  # fmt: skip
        token = httpx.post(f"{server.url}/api/v1/auth/token", json=good, timeout=30).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        case = httpx.post(
            f"{server.url}/api/v1/cases", json={"situation": "deserted"}, headers=auth, timeout=30
        )
        assert case.status_code == 201, case.text
        r = httpx.post(
            f"{server.url}/api/v1/cases/{case.json()['id']}/documents",
            files={"file": ("scan.txt", body, "text/plain")},
            headers=auth,
            timeout=120,
        )
        assert r.status_code == 201, r.text
        assert r.json()["size"] == len(body)
    written = sum(len(p) for p in server.writes())
    assert written > len(body), "the encrypted blob itself was not seen being written"
    assert server.scan(body_canaries) == []
