"""The streaming upload reader: encrypted as it arrives, never spooled, size-limited, sniffed."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from app.config import Settings
from app.crypto.envelope import OpenDataKey
from app.crypto.stream import decrypt_stream
from app.documents.blobs import BlobStore
from app.documents.upload import receive_encrypted_upload, safe_filename
from app.policy.deps import PUBLIC

LIMIT = 300 * 1024
CANARY = "CANARY-Ж7Q-Вымышленный-Призыв"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The probe route is not the documents path, so it gets room under the body limit."""
    return settings.model_copy(update={"max_body_bytes": 8 * 1024 * 1024})


@pytest.fixture
def store(settings: Settings) -> BlobStore:
    return BlobStore(settings.blob_dir)


@pytest.fixture
def upload_app(app: FastAPI, dek: OpenDataKey, store: BlobStore) -> FastAPI:
    """The real app plus a test-only upload route (document routes come with casework)."""

    @app.post("/api/v1/_probe/upload", dependencies=PUBLIC)
    async def upload(request: Request) -> dict[str, Any]:
        stored = await receive_encrypted_upload(request, dek=dek, store=store, max_bytes=LIMIT)
        return {"blob_id": str(stored.blob_id), **stored.metadata(), "fields": stored.fields}

    return app


@pytest.fixture
def up(upload_app: FastAPI) -> TestClient:
    return TestClient(upload_app, base_url="https://testserver", raise_server_exceptions=False)


def _blob(store: BlobStore, dek: OpenDataKey, blob_id: str) -> bytes:
    bid = uuid.UUID(blob_id)
    return b"".join(decrypt_stream(dek, bid, store.open(bid)))


def test_upload_round_trips_and_reports_sniffed_metadata(
    up: TestClient, store: BlobStore, dek: OpenDataKey
) -> None:
    body = (CANARY + "\n").encode() * 5000  # ~180 KiB, three chunks
    r = up.post(
        "/api/v1/_probe/upload",
        files={"file": ("Повестка Вымышленный.pdf", body, "application/pdf")},
        data={"note": "summons"},
    )
    assert r.status_code == 200, r.text
    meta = r.json()
    assert meta["content_type"] == "text/plain"  # sniffed; the declared PDF type is ignored
    assert meta["size"] == len(body)
    assert meta["filename"] == "Повестка Вымышленный.pdf"
    assert meta["fields"] == {"note": "summons"}
    assert _blob(store, dek, meta["blob_id"]) == body
    raw = store.path(uuid.UUID(meta["blob_id"])).read_bytes()
    assert CANARY.encode() not in raw
    assert [p.name for p in store.root.iterdir()] == [uuid.UUID(meta["blob_id"]).hex]


def test_png_is_sniffed_as_png(up: TestClient) -> None:
    r = up.post("/api/v1/_probe/upload", files={"file": ("x.txt", PNG, "text/plain")})
    assert r.json()["content_type"] == "image/png"


def test_too_large_is_413_and_leaves_no_blob(up: TestClient, store: BlobStore) -> None:
    r = up.post("/api/v1/_probe/upload", files={"file": ("big.bin", b"\x01" * (LIMIT + 1), None)})
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    assert list(store.root.iterdir()) == []


def test_exactly_the_limit_is_accepted(up: TestClient) -> None:
    r = up.post("/api/v1/_probe/upload", files={"file": ("edge.bin", b"\x01" * LIMIT, None)})
    assert r.status_code == 200
    assert r.json()["size"] == LIMIT


def test_declared_oversize_is_refused_before_reading(up: TestClient) -> None:
    r = up.post(
        "/api/v1/_probe/upload",
        content=b"x",
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(10**9)},
    )
    assert r.status_code == 413


def test_missing_file_or_wrong_type_is_422(up: TestClient, store: BlobStore) -> None:
    assert up.post("/api/v1/_probe/upload", data={"note": "x"}).status_code == 422
    assert up.post("/api/v1/_probe/upload", json={"file": "x"}).status_code == 422
    truncated = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc'
    r = up.post(
        "/api/v1/_probe/upload",
        content=truncated,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 422
    assert list(store.root.iterdir()) == []


def test_nothing_is_spooled_to_a_temporary_file(
    up: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("an upload touched a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    body = CANARY.encode() * 40_000  # ~1.3 MB, more than Starlette's 1 MB spool threshold
    monkeypatch.setattr("tests.documents.test_upload.LIMIT", len(body) + 1)
    r = up.post("/api/v1/_probe/upload", files={"file": ("a.txt", body, "text/plain")})
    assert r.status_code == 200, r.text
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\скан.jpg", "скан.jpg"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("  ", "upload"),
        ("a\x00b\nc.pdf", "abc.pdf"),
    ],
)
def test_file_names_are_made_safe(raw: str, clean: str) -> None:
    assert safe_filename(raw) == clean
