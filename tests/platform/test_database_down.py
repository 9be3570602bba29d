"""A database that cannot be reached: every kind of caller gets a clean answer that says so
(no PostgreSQL needed: the address points where nothing listens)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import make_engine
from app.main import create_app
from tests.reliability.live import free_port

BEARER = "hv_" + "x" * 43


def _client(settings: Settings, tmp_path: Path) -> TestClient:
    url = f"postgresql+psycopg://haven@127.0.0.1:{free_port()}/haven"
    settings = settings.model_copy(update={"database_url": url, "blob_dir": tmp_path / "blobs"})
    keyring = Keyring()
    keyring.unseal_with_root(b"\x07" * 32)
    app = create_app(settings, engine=make_engine(url), keyring=keyring)
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def test_api_page_and_health_say_the_database_is_unavailable(
    settings: Settings, tmp_path: Path
) -> None:
    with _client(settings, tmp_path) as client:
        api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {BEARER}"})
        assert api.status_code == 503, api.text
        assert api.json()["code"] == "database_unavailable"
        assert api.headers["retry-after"] == "5"
        client.cookies.set("__Host-haven_session", "y" * 43)
        page = client.get("/account/reauth")
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "database" in page.text.lower()
        for r in (api, page):
            assert "Traceback" not in r.text
            assert "psycopg" not in r.text
            assert "127.0.0.1" not in r.text
        health = client.get("/api/v1/sys/health")
        assert health.status_code == 503
        assert health.json() == {
            "status": "database_unavailable",
            "sealed": False,
            "database": "unavailable",
        }
