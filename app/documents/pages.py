"""The documents of a case, as pages: the list (name, the type sniffed from the bytes, size,
who and when), an upload form (multipart, encrypted as it streams in, the CSRF token its
first part) and the download, exactly as the API serves it.

Same services as the API (app/documents/service.py, app/documents/upload.py); access is the
API's aliases. Plaintext never touches the disk: the upload reader encrypts chunk by chunk.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.cases.page_header import case_header
from app.config import Settings
from app.db import commit_early
from app.deps import AppSettings, DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.documents import service
from app.documents.api import stream_download
from app.documents.blobs import BlobStore
from app.documents.dependencies import CaseDocuments, DocumentRead, DocumentUpload
from app.documents.upload import StoredUpload, receive_encrypted_upload
from app.errors import InvalidInput, PayloadTooLarge
from app.i18n import LazyText, lazy
from app.middleware import leave_write_queue
from app.policy.access import CaseAccess
from app.users.directory import names as names_of
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

NO_FILE = lazy("Choose a file first. An empty file cannot be kept.")
UNREADABLE = lazy("This file could not be read. Choose it again and send it once more.")
NAME_TOO_LONG = lazy("The file name is too long. Rename the file (at most 255 characters).")
TOO_SLOW = lazy("The upload took too long. Try again, if you can over a faster connection.")

# What a person calls the types the sniffer knows; the MIME type is shown beside it.
KINDS: dict[str, LazyText] = {
    "application/pdf": lazy("PDF document"),
    "image/png": lazy("Image"),
    "image/jpeg": lazy("Photo"),
    "image/gif": lazy("Image"),
    "image/tiff": lazy("Scan"),
    "image/webp": lazy("Image"),
    "image/heic": lazy("Photo"),
    "image/heif": lazy("Photo"),
    "application/zip": lazy("Archive or office document"),
    "application/x-ole-storage": lazy("Old office document"),
    "application/rtf": lazy("Text document"),
    "text/plain": lazy("Text"),
    "audio/ogg": lazy("Sound recording"),
    "audio/mpeg": lazy("Sound recording"),
    "audio/mp4": lazy("Sound recording"),
    "audio/wav": lazy("Sound recording"),
    "video/webm": lazy("Video"),
    "video/mp4": lazy("Video"),
    "video/quicktime": lazy("Video"),
    "video/x-msvideo": lazy("Video"),
}
UNKNOWN_KIND = lazy("Unknown kind of file")


def _url(access: CaseAccess) -> str:
    return f"/cases/{access.case.id}/documents"


def _page(
    request: Request,
    db: Session,
    access: CaseAccess,
    settings: Settings,
    *,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    """The list and the upload form; every document named, typed and sized by the service."""
    docs = service.list_documents(
        db, keyring=_keyring(request), actor=access.actor, case=access.case
    )
    uploaders = [uuid.UUID(d["uploaded_by"]) for d in docs if d["uploaded_by"]]
    names = {str(k): v for k, v in names_of(db, actor=access.actor, ids=uploaders).items()}
    rows: list[dict[str, Any]] = [
        d
        | {
            "kind": KINDS.get(d["content_type"], UNKNOWN_KIND),
            "uploaded_at": datetime.fromisoformat(d["uploaded_at"]),
            "by": names.get(d["uploaded_by"] or "", ""),
        }
        for d in docs
    ]
    context = case_header(db, access, now=_now(request)) | {
        "tab": "documents",
        "documents": rows,
        "max_bytes": settings.max_upload_bytes,
        "errors": errors or {},
    }
    return render(request, "documents/list.html", context, status)


@router.get("/cases/{case_id}/documents")
def documents_page(
    request: Request, db: DbSession, settings: AppSettings, access: CaseDocuments
) -> Response:
    """The case's documents and the upload form."""
    return _page(request, db, access, settings)


def _refusal(exc: Exception) -> tuple[LazyText, int]:
    if isinstance(exc, PayloadTooLarge):
        return lazy("This file is larger than the limit. Send a smaller file."), 413
    if isinstance(exc, TimeoutError):
        return TOO_SLOW, 408
    text = str(exc)
    return (NAME_TOO_LONG if "name too long" in text else UNREADABLE), 422


@router.post("/cases/{case_id}/documents")
async def upload_document(
    request: Request, db: DbSession, settings: AppSettings, access: DocumentUpload
) -> Response:
    """One file, encrypted under the case key as it arrives (the API's upload, as a form)."""
    store = BlobStore(settings.blob_dir)
    dek = await run_in_threadpool(service.case_key, db, keyring=_keyring(request), case=access.case)
    # As the API does: no lock or pooled connection held while a slow link sends the file.
    await run_in_threadpool(commit_early, db)
    leave_write_queue(request)
    try:
        stored: StoredUpload = await asyncio.wait_for(
            receive_encrypted_upload(
                request, dek=dek, store=store, max_bytes=settings.max_upload_bytes
            ),
            timeout=settings.upload_timeout_seconds,
        )
    except (PayloadTooLarge, InvalidInput, TimeoutError) as exc:
        message, status = _refusal(exc)
        return await run_in_threadpool(
            _page, request, db, access, settings, errors={"file": message}, status=status
        )
    if stored.size == 0:  # the form sent without a file chosen
        store.delete(stored.blob_id)
        errors = {"file": NO_FILE}
        return await run_in_threadpool(
            _page, request, db, access, settings, errors=errors, status=422
        )

    def save(session: Session) -> None:
        service.record_upload(
            session,
            store=store,
            dek=dek,
            actor=access.actor,
            case=access.case,
            stored=stored,
            now=_now(request),
        )

    await run_in_threadpool(save, db)
    return see_other(_url(access), done="uploaded")


@router.get("/cases/{case_id}/documents/{doc_id}/file")
def download_document(
    request: Request, db: DbSession, settings: AppSettings, access: DocumentRead
) -> StreamingResponse:
    """The decrypted file as an attachment (never shown inline), checked against its SHA-256
    first: the API's download."""
    return stream_download(request, db, settings, access)
