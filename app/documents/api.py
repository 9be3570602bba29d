"""Document routes: encrypted upload (streamed, never spooled), list, verified download."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import commit_early
from app.deps import AppSettings, DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.documents import service
from app.documents.blobs import BlobStore
from app.documents.dependencies import CaseDocuments, DocumentRead, DocumentUpload
from app.documents.schemas import DocumentOut
from app.documents.sniff import SNIFFABLE
from app.documents.upload import receive_encrypted_upload
from app.errors import HavenError
from app.middleware import leave_write_queue
from app.openapi import errors
from app.pagination import Page, PageQuery, page_of

router = APIRouter(prefix="/api/v1", tags=["documents"])

_MULTIPART = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                },
                # A file's bytes cannot be shown; the example says what the part holds.
                "example": {"file": "(the bytes of summons-scan.pdf)"},
            }
        },
    }
}


class UploadTimeout(HavenError):
    """408: the upload took longer than HAVEN_UPLOAD_TIMEOUT_SECONDS."""

    status, code, message = 408, "upload_timeout", "The upload took too long; try again."


@router.post(
    "/cases/{case_id:uuid}/documents",
    status_code=201,
    openapi_extra=_MULTIPART,
    response_model=DocumentOut,
    responses=errors(408, 413, 415),
)
async def upload_document(
    request: Request, db: DbSession, settings: AppSettings, access: DocumentUpload
) -> DocumentOut:
    """Upload one file (multipart field `file`): encrypted under the case key as it arrives,
    its type sniffed from its bytes (the declared type is ignored); 413 past the size limit.
    With a session cookie, the CSRF token must travel in the `X-CSRF-Token` header."""
    store = BlobStore(settings.blob_dir)
    dek = await run_in_threadpool(service.case_key, db, keyring=_keyring(request), case=access.case)
    # End the transaction before the body streams in: a slow client (or a slow Tor circuit)
    # must not hold SQLite's write lock, or a pooled PostgreSQL connection, for minutes, and
    # keep everyone else (the seal button included) waiting. The row is written afterwards
    # in a transaction of its own; a case erased meanwhile fails that insert and the blob goes.
    await run_in_threadpool(commit_early, db)
    leave_write_queue(request)
    try:
        stored = await asyncio.wait_for(
            receive_encrypted_upload(
                request, dek=dek, store=store, max_bytes=settings.max_upload_bytes
            ),
            timeout=settings.upload_timeout_seconds,
        )
    except TimeoutError:
        raise UploadTimeout() from None

    def save(session: Session) -> DocumentOut:
        doc = service.record_upload(
            session,
            store=store,
            dek=dek,
            actor=access.actor,
            case=access.case,
            stored=stored,
            now=_now(request),
        )
        return DocumentOut.model_validate(service.describe(dek, doc))

    # record_upload ties the blob to the transaction: a rollback (here or at commit) removes it.
    return await run_in_threadpool(save, db)


@router.get("/cases/{case_id:uuid}/documents", response_model=Page[DocumentOut])
def list_documents(
    q: Annotated[PageQuery, Query()], request: Request, db: DbSession, access: CaseDocuments
) -> Page[DocumentOut]:
    """The case's documents: id, name, sniffed type, size, SHA-256, who and when."""
    found = service.list_documents(
        db, keyring=_keyring(request), actor=access.actor, case=access.case
    )
    return page_of([DocumentOut.model_validate(d) for d in found], q)


@router.get(
    "/cases/{case_id:uuid}/documents/{doc_id:uuid}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file, as the type its first bytes show (never the uploader's).",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in SNIFFABLE},
        },
        **errors(500),
    },
)
def download_document(
    request: Request, db: DbSession, settings: AppSettings, access: DocumentRead
) -> StreamingResponse:
    """The decrypted file as an attachment, after its SHA-256 is checked against the
    recorded evidence hash (500 `document_damaged` when it differs)."""
    return stream_download(request, db, settings, access)


def stream_download(
    request: Request, db: Session, settings: Settings, access: DocumentRead
) -> StreamingResponse:
    """The checked, decrypted file as an attachment, never shown inline: the API's download
    and the page's are this one answer."""
    download = service.open_download(
        db,
        keyring=_keyring(request),
        store=BlobStore(settings.blob_dir),
        actor=access.actor,
        case=access.case,
        doc=access.document,
    )
    return StreamingResponse(
        download.chunks,
        media_type=service.media_type(download.content_type),
        headers={
            "content-disposition": service.content_disposition(download.name),
            "content-length": str(download.size),
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
