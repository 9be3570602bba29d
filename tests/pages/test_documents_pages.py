"""The documents tab of a case: the list shows each file's sniffed type, size, uploader and
time; the upload form (multipart, CSRF token first) stores the file encrypted and refuses,
beside the field and with nothing stored, what it cannot keep; the download is the API's
(attachment, nosniff); roles and scopes answer as the policy says; the list's SQL does not
grow with its rows."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import BreakGlassGrant
from app.config import Settings
from app.documents.models import Document
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.conftest import StatementCounter
from tests.factories import make_case, make_team, make_user
from tests.pages.registry import Visitor
from tests.pages.visits.attachments import Desk, add_document, desk, keyring_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _count(db: Session, d: Desk) -> int:
    return db.scalar(select(func.count()).where(Document.case_id == d.case.id)) or 0


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart body with its parts in exactly this order (name, file name, bytes)."""
    boundary = "haven-test-" + uuid.uuid4().hex
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def _send(v: Visitor, d: Desk, parts: list[tuple[str, str | None, bytes]]) -> httpx.Response:
    body, kind = _multipart(parts)
    return v.client.post(
        d.url + "/documents", content=body, headers={"content-type": kind}, follow_redirects=False
    )


def test_upload_stores_the_file_and_the_list_shows_its_sniffed_type(
    v: Visitor, db: Session
) -> None:
    d = desk(v, Role.CASEWORKER)
    page = v.client.get(d.url + "/documents")
    assert page.status_code == 200
    assert "25 MB" in page.text, "the size limit is said in plain words"
    # The form: multipart, and its CSRF field comes before the file.
    form = page.text.split('enctype="multipart/form-data"')[1]
    assert form.index('name="csrf_token"') < form.index('name="file"')
    token = v.csrf(page.text)
    # Declared a PDF by its name and type; the bytes are a PNG.
    r = _send(v, d, [("csrf_token", None, token.encode()), ("file", "letter.pdf", PNG)])
    assert r.status_code == 303
    assert r.headers["location"] == f"{d.url}/documents?done=uploaded"
    listed = v.client.get(d.url + "/documents").text
    assert "letter.pdf" in listed
    assert "<code>image/png</code>" in listed
    assert "208 bytes" in listed
    doc = db.scalars(select(Document).where(Document.case_id == d.case.id)).one()
    got = v.client.get(f"{d.url}/documents/{doc.id}/file")
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "order",
    ["no-token", "wrong-token", "token-after-file"],
)
def test_upload_without_the_token_first_is_refused_and_stores_nothing(
    v: Visitor, db: Session, order: str
) -> None:
    d = desk(v, Role.CASEWORKER)
    token = v.csrf(v.client.get(d.url + "/documents").text).encode()
    parts: dict[str, list[tuple[str, str | None, bytes]]] = {
        "no-token": [("file", "a.png", PNG)],
        "wrong-token": [("csrf_token", None, b"not-the-token"), ("file", "a.png", PNG)],
        "token-after-file": [("file", "a.png", PNG), ("csrf_token", None, token)],
    }
    r = _send(v, d, parts[order])
    assert r.status_code == 403
    assert _count(db, d) == 0


def test_upload_refusals_are_beside_the_field_and_store_nothing(
    v: Visitor, db: Session, app: FastAPI, settings: Settings
) -> None:
    d = desk(v, Role.CASEWORKER)
    token = v.csrf(v.client.get(d.url + "/documents").text).encode()
    empty = _send(v, d, [("csrf_token", None, token), ("file", "", b"")])
    assert empty.status_code == 422
    html = empty.text
    assert 'id="f-file-error"' in html
    assert 'aria-describedby="f-file-hint f-file-error"' in html
    assert "Choose a file first" in html
    app.state.settings = settings.model_copy(update={"max_upload_bytes": 100})
    big = _send(v, d, [("csrf_token", None, token), ("file", "big.png", PNG)])
    assert big.status_code == 413
    assert "larger than the limit" in big.text
    assert "100 bytes" in big.text, "the limit is said in the hint"
    assert _count(db, d) == 0


def test_a_refused_upload_leaves_no_blob(v: Visitor, app: FastAPI, settings: Settings) -> None:
    d = desk(v, Role.CASEWORKER)
    token = v.csrf(v.client.get(d.url + "/documents").text).encode()
    before = {p for p in settings.blob_dir.rglob("*") if p.is_file()}
    app.state.settings = settings.model_copy(update={"max_upload_bytes": 100})
    _send(v, d, [("csrf_token", None, token), ("file", "big.png", PNG)])
    _send(v, d, [("csrf_token", None, token), ("file", "", b"")])
    after = {p for p in settings.blob_dir.rglob("*") if p.is_file()}
    assert after == before


def test_roles_and_scopes(v: Visitor, db: Session) -> None:
    other = make_case(db, keyring=keyring_of(v), team=make_team(db))
    volunteer_desk = desk(v, Role.VOLUNTEER)
    assert v.client.get(volunteer_desk.url + "/documents").status_code == 403
    v.client.cookies.clear()
    d = desk(v, Role.COORDINATOR)
    add_document(v, d)
    doc_id = db.scalars(select(Document.id).where(Document.case_id == d.case.id)).one()
    # Another team's case, a forged case id, a forged document id, a document of another case.
    assert v.client.get(f"/cases/{other.id}/documents").status_code == 404
    assert v.client.get(f"/cases/{uuid.uuid4()}/documents").status_code == 404
    assert v.client.get(f"{d.url}/documents/{uuid.uuid4()}/file").status_code == 404
    assert v.client.get(f"/cases/{other.id}/documents/{doc_id}/file").status_code == 404
    token = v.csrf(v.client.get(d.url + "/documents").text).encode()
    body, kind = _multipart([("csrf_token", None, token), ("file", "a.png", PNG)])
    r = v.client.post(f"/cases/{other.id}/documents", content=body, headers={"content-type": kind})
    assert r.status_code == 404
    assert "Not found" in r.text
    for role in (Role.ADMIN, Role.AUDITOR):
        v.client.cookies.clear()
        v.signed_in(role)
        assert v.client.get(d.url + "/documents").status_code == 403


def test_a_stale_session_goes_to_the_sign_in_page(v: Visitor, db: Session) -> None:
    d = desk(v, Role.CASEWORKER)
    v.client.post("/logout", data={"csrf_token": v.csrf(v.client.get(d.url + "/documents").text)})
    r = v.client.get(d.url + "/documents", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_the_list_sends_as_many_statements_for_six_documents_as_for_one(
    v: Visitor, sql_statements: StatementCounter
) -> None:
    d = desk(v, Role.CASEWORKER)
    add_document(v, d)
    with sql_statements.counting() as one:
        assert v.client.get(d.url + "/documents").status_code == 200
    for n in range(5):
        add_document(v, d, f"scan-{n}.pdf")
    with sql_statements.counting() as six:
        assert v.client.get(d.url + "/documents").text.count("/file") == 6
    assert len(six) == len(one), "\n".join(six)


def test_another_uploader_is_named(v: Visitor, db: Session) -> None:
    d = desk(v, Role.COORDINATOR)
    colleague = make_user(db, Role.CASEWORKER, teams=[])
    colleague.display_name = "Anna Sample"
    add_document(v, Desk(user=colleague, case=d.case))
    assert "Anna Sample" in v.client.get(d.url + "/documents").text


def test_the_api_upload_still_takes_its_token_only_from_the_header(v: Visitor, db: Session) -> None:
    """Only a page's form is read for the token (its first part); the API keeps the header."""
    d = desk(v, Role.CASEWORKER)
    token = v.csrf(v.client.get(d.url + "/documents").text).encode()
    body, kind = _multipart([("csrf_token", None, token), ("file", "a.png", PNG)])
    url = f"/api/v1/cases/{d.case.id}/documents"
    r = v.client.post(url, content=body, headers={"content-type": kind})
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
    assert _count(db, d) == 0


def test_break_glass_reads_the_documents_but_cannot_upload(
    v: Visitor, db: Session, clock: FrozenClock
) -> None:
    d = desk(v, Role.COORDINATOR)
    other = make_case(db, keyring=keyring_of(v), team=make_team(db))
    add_document(v, Desk(user=d.user, case=other))
    db.add(
        BreakGlassGrant(
            actor_id=d.user.id,
            case_id=other.id,
            created_at=clock.now(),
            expires_at=clock.now() + timedelta(hours=1),
        )
    )
    db.flush()
    page = v.client.get(f"/cases/{other.id}/documents")
    assert page.status_code == 200
    assert 'class="banner"' in page.text, "the break-glass banner is missing"
    assert "summons-scan.pdf" in page.text
    assert 'name="file"' not in page.text, "an upload form under break-glass"
    token = v.csrf(page.text).encode()
    body, kind = _multipart([("csrf_token", None, token), ("file", "a.png", PNG)])
    r = v.client.post(f"/cases/{other.id}/documents", content=body, headers={"content-type": kind})
    assert r.status_code == 404
