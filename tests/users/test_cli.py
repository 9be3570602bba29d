"""`haven user add`, `haven demo` and `haven seal` as docs/api.md describes them."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.crypto.keyring import Keyring, read_dev_key_file
from app.crypto.system_keys import open_totp_secret
from app.db import make_engine
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import Team, User
from tests.factories import bearer, make_user

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised installation (schema and a dev root key): accounts need the keyring,
    since TOTP secrets are stored encrypted."""
    url = f"sqlite:///{tmp_path}/haven.db"
    monkeypatch.setenv("HAVEN_DATABASE_URL", url)
    monkeypatch.setenv("HAVEN_KEY_FILE", str(tmp_path / "dev-root.key"))
    monkeypatch.setenv("HAVEN_BLOB_DIR", str(tmp_path / "blobs"))
    init = runner.invoke(cli, ["init", "--seal-mode", "dev"])
    assert init.exit_code == 0, init.output
    return url


def test_user_add_json(db_url: str) -> None:
    r = runner.invoke(
        cli,
        [
            "user",
            "add",
            "worker@example.invalid",
            "--role",
            "caseworker",
            "--team",
            "Vilnius",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert set(body) == {"id", "email", "role", "password", "totp_uri"}
    assert body["role"] == "caseworker"
    engine = make_engine(db_url)
    with Session(engine) as db:
        user = db.scalars(select(User).where(User.email == "worker@example.invalid")).one()
        assert user.password_hash.startswith("$argon2id$")
        assert body["password"] not in user.password_hash
        assert db.scalars(select(Team.name)).all() == ["Vilnius"]
        # The secret of the printed link is stored only as ciphertext that opens with the key.
        secret = parse_qs(urlparse(body["totp_uri"]).query)["secret"][0]
        assert user.totp_secret is not None
        assert secret.encode() not in user.totp_secret.data
        keyring = Keyring()
        keyring.unseal_with_root(read_dev_key_file(Path(db_url[10:]).parent / "dev-root.key"))
        assert open_totp_secret(keyring, user_id=user.id, sealed=user.totp_secret) == secret
    engine.dispose()


def test_user_add_password_stdin(db_url: str) -> None:
    r = runner.invoke(
        cli,
        [
            "user",
            "add",
            "coord@example.invalid",
            "--role",
            "coordinator",
            "--password-stdin",
            "--json",
        ],
        input="copper-meadow-sings-11\n",
    )
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert "password" not in body
    weak = runner.invoke(
        cli,
        ["user", "add", "x@example.invalid", "--role", "volunteer", "--password-stdin"],
        input="password\n",
    )
    assert weak.exit_code == 1
    dup = runner.invoke(cli, ["user", "add", "coord@example.invalid", "--role", "volunteer"])
    assert dup.exit_code == 1


def test_demo_is_idempotent(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo cases are encrypted: the demo needs a keyring (`make run` inits one first).
    monkeypatch.setenv("HAVEN_KEY_FILE", str(tmp_path / "dev-root.key"))
    monkeypatch.setenv("HAVEN_BLOB_DIR", str(tmp_path / "blobs"))
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0
    first = runner.invoke(cli, ["demo", "--cases", "5"])
    assert first.exit_code == 0, first.output
    assert "5 added" in first.output
    for role in Role:
        assert f"{role.value}@demo.haven.invalid" in first.output
    assert "coordinator2@demo.haven.invalid" in first.output  # four eyes for erasure
    assert first.output.count("password:") == 6
    second = runner.invoke(cli, ["demo", "--cases", "5"])
    assert second.exit_code == 0
    assert second.output.count("already present") == 6
    assert "0 added" in second.output
    assert "password:" not in second.output


def test_seal_cli_calls_the_endpoint(
    app: FastAPI,
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = bearer(db, make_user(db, Role.COORDINATOR), clock=clock, settings=settings)

    def post(url: str, headers: dict[str, str], timeout: float) -> httpx.Response:
        assert url == "https://haven.example.invalid/api/v1/sys/seal"
        return client.post("/api/v1/sys/seal", headers=headers)

    monkeypatch.setattr(httpx, "post", post)
    monkeypatch.setenv("HAVEN_TOKEN", token)
    r = runner.invoke(cli, ["seal", "--url", "https://haven.example.invalid/"])
    assert r.exit_code == 0, r.output
    assert app.state.keyring.sealed
    again = runner.invoke(cli, ["seal", "--url", "https://haven.example.invalid"])
    assert again.exit_code == 1  # the token died with the seal
    monkeypatch.delenv("HAVEN_TOKEN")
    assert runner.invoke(cli, ["seal"]).exit_code == 2


@pytest.mark.parametrize("command", [["user", "add"], ["seal"]])
def test_help(command: list[str]) -> None:
    assert runner.invoke(cli, [*command, "--help"]).exit_code == 0
