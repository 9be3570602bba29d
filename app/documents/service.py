"""The rules of documents: record an encrypted upload, list a case's documents, and open one
for download after checking its SHA-256 against the (encrypted) evidence hash.

Services flush, never commit. A blob is written before its row exists (it streams in as the
upload arrives), so the row's transaction owns the blob: if it rolls back, the blob goes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases.models import Case
from app.crypto.aead import DecryptionFailed
from app.crypto.envelope import OpenDataKey, decrypt_json, encrypt_json
from app.crypto.keyring import Keyring
from app.crypto.stream import StreamEncryptor, decrypt_stream
from app.documents.blobs import BlobStore
from app.documents.models import Document
from app.documents.upload import StoredUpload
from app.errors import HavenError
from app.policy.deps import Actor

log = logging.getLogger("haven.documents")

META_FIELD = "document_meta"
# What the encrypted metadata holds (audited as field names, never values).
META_NAMES = ("name", "content_type", "sha256")
_PENDING_KEY = "haven_pending_blobs"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class DocumentDamaged(HavenError):
    """500: the stored document no longer matches its evidence hash (or fails to decrypt)."""

    status, code = 500, "document_damaged"
    message = "The stored document failed its integrity check; the administrator was alerted."


@dataclass(frozen=True)
class Download:
    """A document ready to stream: decrypted chunks and the headers they travel with."""

    name: str
    content_type: str
    size: int
    chunks: Iterator[bytes]


def case_key(db: Session, *, keyring: Keyring, case: Case) -> OpenDataKey:
    """The case's data key, opened to encrypt an upload as it arrives."""
    return rec.case_key(db, keyring=keyring, case=case)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def _discard_pending(session: Session, previous: SessionTransaction) -> None:
    if previous.nested:  # a SAVEPOINT rolled back: the outer transaction decides later
        return
    store_blobs: list[tuple[BlobStore, uuid.UUID]] = session.info.pop(_PENDING_KEY, [])
    for store, blob_id in store_blobs:
        store.delete(blob_id)


def discard_blob_on_rollback(db: Session, store: BlobStore, blob_id: uuid.UUID) -> None:
    """Delete the blob if this session's transaction rolls back (keep it if it commits)."""
    if not event.contains(db, "after_commit", _forget_pending):
        event.listen(db, "after_commit", _forget_pending)
        event.listen(db, "after_soft_rollback", _discard_pending)
    db.info.setdefault(_PENDING_KEY, []).append((store, blob_id))


def record_upload(
    db: Session,
    *,
    store: BlobStore,
    dek: OpenDataKey,
    actor: Actor,
    case: Case,
    stored: StoredUpload,
    now: datetime,
) -> Document:
    """The row for a blob already stored encrypted: name, sniffed type and SHA-256 encrypted
    under the case key and bound to this row."""
    discard_blob_on_rollback(db, store, stored.blob_id)
    doc = Document(
        id=uuid.uuid4(),
        case_id=case.id,
        blob_id=stored.blob_id,
        size=stored.size,
        uploaded_by=actor.id,
        uploaded_at=now,
    )
    meta = {"name": stored.filename, "content_type": stored.content_type, "sha256": stored.sha256}
    doc.meta = encrypt_json(dek, field=META_FIELD, value=meta, row_id=doc.id)
    db.add(doc)
    db.flush()
    record(
        db,
        AuditAction.DOCUMENT_UPLOADED,
        by=actor,
        on=("case", case.id),
        fields=["file", *META_NAMES],
        reason=f"document:{doc.id}",
    )
    return doc


def store_bytes(
    db: Session,
    *,
    store: BlobStore,
    dek: OpenDataKey,
    actor: Actor,
    case: Case,
    body: bytes,
    filename: str,
    content_type: str,
    now: datetime,
) -> Document:
    """A document the service itself holds whole (the demo's, never a user's upload, which
    streams through app/documents/upload.py): encrypted into a new blob, then recorded."""
    with store.create() as writer:
        encryptor = StreamEncryptor(dek, writer.blob_id)
        writer.write(encryptor.update(body))
        writer.write(encryptor.finish())
        writer.commit()
    stored = StoredUpload(
        blob_id=writer.blob_id,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        content_type=content_type,
        filename=filename,
    )
    return record_upload(db, store=store, dek=dek, actor=actor, case=case, stored=stored, now=now)


def _meta(dek: OpenDataKey, doc: Document) -> dict[str, str]:
    meta: dict[str, str] = decrypt_json(dek, field=META_FIELD, ciphertext=doc.meta, row_id=doc.id)
    return meta


def describe(dek: OpenDataKey, doc: Document) -> dict[str, Any]:
    """The list shape of one document, its name and type decrypted."""
    meta = _meta(dek, doc)
    return {
        "id": str(doc.id),
        "name": meta["name"],
        "content_type": meta["content_type"],
        "size": doc.size,
        "sha256": meta["sha256"],
        "uploaded_by": str(doc.uploaded_by) if doc.uploaded_by else None,
        "uploaded_at": doc.uploaded_at.isoformat(),
    }


def list_documents(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case
) -> list[dict[str, Any]]:
    """The case's documents, oldest first; reading their names is audited."""
    dek = case_key(db, keyring=keyring, case=case)
    docs = db.scalars(
        select(Document)
        .where(Document.case_id == case.id)
        .order_by(Document.uploaded_at, Document.id)
    ).all()
    record(db, AuditAction.DOCUMENT_LISTED, by=actor, on=("case", case.id), fields=list(META_NAMES))
    return [describe(dek, d) for d in docs]


def _verify(dek: OpenDataKey, store: BlobStore, doc: Document, expected: str) -> None:
    digest = hashlib.sha256()
    try:
        for chunk in decrypt_stream(dek, doc.blob_id, store.open(doc.blob_id)):
            digest.update(chunk)
    except (DecryptionFailed, FileNotFoundError) as exc:
        # The exception's text names the failing part, never content; no traceback needed.
        log.error("document %s: %s", doc.id, type(exc).__name__)  # noqa: TRY400
        raise DocumentDamaged() from None
    if not hmac.compare_digest(digest.hexdigest(), expected):
        log.error("document %s: SHA-256 differs from the recorded evidence hash", doc.id)
        raise DocumentDamaged()


def open_download(
    db: Session,
    *,
    keyring: Keyring,
    store: BlobStore,
    actor: Actor,
    case: Case,
    doc: Document,
) -> Download:
    """Check the document against its SHA-256 (a full decrypting pass, before any byte is
    sent, so a damaged file is an error and never a silently truncated download), audit the
    download, and hand back a fresh decrypting stream."""
    dek = case_key(db, keyring=keyring, case=case)
    meta = _meta(dek, doc)
    try:
        _verify(dek, store, doc, meta["sha256"])
    except DocumentDamaged as damaged:
        _record_damage(db, actor=actor, case=case, doc=doc)
        damaged.keep_record = True  # the request fails; the record of the damage stays
        raise
    record(
        db,
        AuditAction.DOCUMENT_DOWNLOADED,
        by=actor,
        on=("case", case.id),
        fields=["file", *META_NAMES],
        reason=f"document:{doc.id}",
    )
    return Download(
        name=meta["name"],
        content_type=meta["content_type"],
        size=doc.size,
        chunks=decrypt_stream(dek, doc.blob_id, store.open(doc.blob_id)),
    )


def _record_damage(db: Session, *, actor: Actor, case: Case, doc: Document) -> None:
    """Audit a download refused because the document failed its integrity check."""
    record(
        db,
        AuditAction.DOCUMENT_DOWNLOADED,
        by=actor,
        on=("case", case.id),
        outcome="failed",
        reason=f"damaged:{doc.id}",
    )


def _ascii_fallback(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem, ext = (_UNSAFE.sub("_", part).strip("_") for part in (stem, ext))
    stem = stem or "document"
    return f"{stem}.{ext}" if ext else stem


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form; nothing
    the client could read as a path, a header break or a second parameter."""
    return (
        f"attachment; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


def media_type(content_type: str) -> str:
    """The sniffed type to answer with (text always declared as UTF-8)."""
    return "text/plain; charset=utf-8" if content_type == "text/plain" else content_type
