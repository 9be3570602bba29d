"""Documents through the API: encrypted upload, list, verified download; scope, roles, limits,
and failed uploads that leave nothing behind (no row, no blob)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.config import Settings
from app.crypto.envelope import encrypt_json
from app.crypto.keyring import Keyring
from app.documents import service
from app.documents.models import Document
from app.security import sessions
from app.security.clock import FrozenClock
from app.security.models import CredentialKind, SessionStage
from tests.factories import CaseWorld as World
from tests.factories import make_document

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300  # ~77 KiB: two stream chunks


def _url(case_id: uuid.UUID, doc_id: uuid.UUID | str | None = None) -> str:
    base = f"/api/v1/cases/{case_id}/documents"
    return base if doc_id is None else f"{base}/{doc_id}"


def _upload(
    client: TestClient, world: World, *, who: str = "worker", case_id: uuid.UUID | None = None,
    name: str = "scan.txt", body: bytes = PNG, declared: str = "text/plain",
) -> httpx.Response:  # fmt: skip
    return client.post(
        _url(case_id or world.case_a.id),
        files={"file": (name, body, declared)},
        headers=world.headers[who],
    )


def _rows(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Document)) or 0)


def _blobs(world: World) -> list[str]:
    return sorted(p.name for p in world.store.root.iterdir())


def _entries(db: Session, action: AuditAction) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action.value)))


def test_upload_list_download_round_trip(client: TestClient, db: Session, world: World) -> None:
    r = _upload(client, world, name="Повестка Вымышленный.png")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["content_type"] == "image/png"  # sniffed: the declared text/plain is ignored
    assert doc["size"] == len(PNG)
    assert doc["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert doc["name"] == "Повестка Вымышленный.png"
    assert doc["uploaded_by"] == str(world.users["worker"].id)

    listed = client.get(_url(world.case_a.id), headers=world.headers["coord"])
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["items"]] == [doc["id"]]
    assert set(listed.json()["items"][0]) == {
        "id", "name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"
    }  # fmt: skip

    got = client.get(_url(world.case_a.id, doc["id"]), headers=world.headers["worker"])
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "no-store"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%D0%9F%D0%BE%D0%B2" in disposition

    # At rest: the row holds ciphertext only, the blob has a random name and no plaintext.
    row = db.get_one(Document, uuid.UUID(doc["id"]))
    assert "Повестка".encode() not in row.meta.data
    assert _blobs(world) == [row.blob_id.hex]
    assert PNG[:4096] not in world.store.path(row.blob_id).read_bytes()


def test_upload_and_download_are_audited_by_field_name_only(
    client: TestClient, db: Session, world: World
) -> None:
    doc = _upload(client, world, name="Вымышленный-Секрет.png").json()
    client.get(_url(world.case_a.id, doc["id"]), headers=world.headers["worker"])
    for action in (AuditAction.DOCUMENT_UPLOADED, AuditAction.DOCUMENT_DOWNLOADED):
        (entry,) = _entries(db, action)
        assert entry.object_type == "case"
        assert entry.object_id == str(world.case_a.id)
        assert entry.fields == ["content_type", "file", "name", "sha256"]
        assert entry.reason_code == f"document:{doc['id']}"
        flat = repr([entry.fields, entry.reason_code, entry.object_id])
        assert "Вымышленный" not in flat
        assert doc["sha256"] not in flat


@pytest.mark.parametrize(
    ("raw", "fallback"),
    [
        ('a"b;c=d.pdf', 'filename="a_b_c_d.pdf"'),
        ("evil\r\nSet-Cookie: x=1.txt", 'filename="evil_Set-Cookie_x_1.txt"'),
        ("Ж.pdf", 'filename="document.pdf"'),
        ("...", 'filename="document"'),
    ],
)
def test_content_disposition_cannot_break_the_header(raw: str, fallback: str) -> None:
    header = service.content_disposition(raw)
    assert header.startswith("attachment; ")
    assert fallback in header
    assert "\r" not in header
    assert "\n" not in header
    assert header.count('"') == 2
    assert header.count(";") == 2
    assert header.isascii()


def test_download_name_keeps_no_path(client: TestClient, world: World) -> None:
    doc = _upload(client, world, name="../../etc/Вымышленный.png").json()
    assert doc["name"] == "Вымышленный.png"
    got = client.get(_url(world.case_a.id, doc["id"]), headers=world.headers["worker"])
    assert got.headers["content-disposition"].startswith('attachment; filename="document.png"')
    assert "%2F" not in got.headers["content-disposition"]


def test_too_large_is_413_and_leaves_nothing(
    client: TestClient, app: FastAPI, db: Session, world: World, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"max_upload_bytes": 100_000})
    r = _upload(client, world, body=b"\x01" * 100_001)
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    assert _rows(db) == 0
    assert _blobs(world) == []
    assert _upload(client, world, body=b"\x01" * 100_000).status_code == 201


def test_out_of_scope_case_is_404_before_any_byte_is_stored(
    client: TestClient, db: Session, world: World
) -> None:
    assert _upload(client, world, case_id=world.case_b.id).status_code == 404
    assert _upload(client, world, who="worker2").status_code == 404  # same team, not assigned
    assert _upload(client, world, case_id=uuid.uuid4()).status_code == 404
    assert _rows(db) == 0
    assert _blobs(world) == []


def test_sealed_mid_upload_leaves_no_row_and_no_blob(
    app: FastAPI, db: Session, world: World, keyring: Keyring, root_key: bytes
) -> None:
    boundary = "haven-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        yield b"\x01" * 200_000  # three 64 KiB chunks already sealed into the blob
        keyring.seal()
        yield b"\x02" * 200_000
        yield f"\r\n--{boundary}--\r\n".encode()

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            return await c.post(
                _url(world.case_a.id),
                content=body(),
                headers={
                    **world.headers["worker"],
                    "content-type": f"multipart/form-data; boundary={boundary}",
                },
            )

    r = asyncio.run(send())
    keyring.unseal_with_root(root_key)
    assert r.status_code == 503
    assert _rows(db) == 0
    assert _blobs(world) == []


def test_a_rolled_back_upload_takes_its_blob_with_it(
    db: Session, world: World, keyring: Keyring
) -> None:
    kept = make_document(db, keyring=keyring, case=world.case_a, store=world.store,
                         by=world.users["worker"])  # fmt: skip
    db.commit()
    lost = make_document(db, keyring=keyring, case=world.case_a, store=world.store,
                         by=world.users["worker"])  # fmt: skip
    assert world.store.exists(lost.blob_id)
    db.rollback()  # e.g. the request's commit failed after the blob was written
    assert not world.store.exists(lost.blob_id)
    assert world.store.exists(kept.blob_id)


def test_starlettes_spooling_parser_is_never_used(
    client: TestClient,
    db: Session,
    world: World,
    clock: FrozenClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("Starlette's multipart parser spools files to disk")

    monkeypatch.setattr("starlette.formparsers.MultiPartParser.parse", refuse)
    assert _upload(client, world).status_code == 201  # bearer
    issued = sessions.create(
        db, user_id=world.users["worker"].id, kind=CredentialKind.COOKIE, stage=SessionStage.FULL,
        now=clock.now(), settings=settings,
    )  # fmt: skip
    client.cookies.set(sessions.cookie_name(settings), issued.token)
    files = {"file": ("a.png", PNG, "image/png")}
    # A cookie session's token must travel in the header: the body is never parsed for it.
    no_token = client.post(_url(world.case_a.id), files=files, data={"csrf_token": "x"})
    assert no_token.status_code == 403
    assert no_token.json()["code"] == "csrf_failed"
    headers = {"x-csrf-token": issued.session.csrf_token}
    assert client.post(_url(world.case_a.id), files=files, headers=headers).status_code == 201
    assert _rows(db) == 2


def test_not_multipart_or_no_file_is_422_naming_file(client: TestClient, world: World) -> None:
    r = client.post(_url(world.case_a.id), json={}, headers=world.headers["worker"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"
    r = client.post(
        _url(world.case_a.id), data={"other": "x"}, files={"nope": ("a", b"1")},
        headers=world.headers["worker"],
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


def test_document_of_another_case_is_404_even_with_its_real_id(
    client: TestClient, db: Session, world: World, keyring: Keyring
) -> None:
    other = make_document(db, keyring=keyring, case=world.case_b, store=world.store,
                          by=world.users["worker_b"])  # fmt: skip
    mine = _upload(client, world).json()["id"]
    headers = world.headers["worker"]
    assert client.get(_url(world.case_a.id, other.id), headers=headers).status_code == 404
    assert client.get(_url(world.case_a.id, uuid.uuid4()), headers=headers).status_code == 404
    # The right document under another (out-of-scope) case: 404 as well.
    assert client.get(_url(world.case_b.id, mine), headers=headers).status_code == 404
    assert client.get(_url(world.case_a.id, mine), headers=headers).status_code == 200


@pytest.mark.parametrize("who", ["admin", "auditor", "volunteer"])
def test_roles_without_document_permissions_get_403(
    client: TestClient, db: Session, world: World, keyring: Keyring, who: str
) -> None:
    doc = make_document(db, keyring=keyring, case=world.case_a, store=world.store,
                        by=world.users["worker"])  # fmt: skip
    headers = world.headers[who]
    assert _upload(client, world, who=who).status_code == 403
    assert client.get(_url(world.case_a.id), headers=headers).status_code == 403
    assert client.get(_url(world.case_a.id, doc.id), headers=headers).status_code == 403


def test_anonymous_gets_401(
    client: TestClient, db: Session, world: World, keyring: Keyring
) -> None:
    doc = make_document(db, keyring=keyring, case=world.case_a, store=world.store,
                        by=world.users["worker"])  # fmt: skip
    assert client.post(_url(world.case_a.id), files={"file": ("a", b"1")}).status_code == 401
    assert client.get(_url(world.case_a.id)).status_code == 401
    assert client.get(_url(world.case_a.id, doc.id)).status_code == 401
    assert _rows(db) == 1


def test_a_document_whose_hash_no_longer_matches_is_refused_and_audited(
    client: TestClient, db: Session, world: World, keyring: Keyring
) -> None:
    doc = make_document(db, keyring=keyring, case=world.case_a, store=world.store,
                        by=world.users["worker"])  # fmt: skip
    dek = service.case_key(db, keyring=keyring, case=world.case_a)
    forged = {"name": "summons.pdf", "content_type": "application/pdf", "sha256": "0" * 64}
    doc.meta = encrypt_json(dek, field=service.META_FIELD, value=forged, row_id=doc.id)
    db.flush()
    r = client.get(_url(world.case_a.id, doc.id), headers=world.headers["worker"])
    assert r.status_code == 500
    assert r.json()["code"] == "document_damaged"
    (entry,) = _entries(db, AuditAction.DOCUMENT_DOWNLOADED)
    assert entry.outcome == "failed"


def test_a_tampered_blob_is_refused(
    client: TestClient, db: Session, world: World, keyring: Keyring
) -> None:
    doc = make_document(db, keyring=keyring, case=world.case_a, store=world.store,
                        by=world.users["worker"])  # fmt: skip
    path = world.store.path(doc.blob_id)
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0x01
    path.write_bytes(bytes(raw))
    r = client.get(_url(world.case_a.id, doc.id), headers=world.headers["worker"])
    assert r.status_code == 500
    assert r.json()["code"] == "document_damaged"
    assert b"PDF" not in r.content
