"""A streaming multipart reader that encrypts an upload as its bytes arrive.

Starlette's own form parser spools files to a temporary file on disk; a plaintext temp file,
even deleted, stays readable on a seized server. This reader feeds `request.stream()` to
python-multipart's streaming parser and hands each piece of the file straight to the chunk
encryptor: plaintext exists only in memory, at most one 64 KiB chunk at a time."""

from __future__ import annotations

import errno
import hashlib
import logging
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MAX_BOUNDARY_LENGTH, MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from app.crypto.envelope import OpenDataKey
from app.crypto.stream import StreamEncryptor
from app.documents.blobs import BlobStore, BlobWriter
from app.documents.sniff import sniff_content_type
from app.errors import InvalidInput, PayloadTooLarge, StorageFull

log = logging.getLogger("haven.blobs")

_SNIFF_BYTES = 512
_MAX_TEXT_FIELD = 8 * 1024
_MAX_TEXT_FIELDS = 16
_ENVELOPE_SLACK = 64 * 1024  # multipart headers and boundaries around the file
MAX_FILENAME = 255
# One part header line may be this long (python-multipart's default is 4 KiB): long enough
# that an overlong file name, even percent-encoded, reaches our check and is refused as a
# name too long rather than as a malformed body. The body limit still bounds the whole.
_MAX_HEADER_LINE = 32 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """An upload now stored encrypted: what the caller keeps (encrypted) about it."""

    blob_id: uuid.UUID
    size: int
    sha256: str
    content_type: str
    filename: str = field(repr=False)
    fields: dict[str, str] = field(default_factory=dict, repr=False)

    def metadata(self) -> dict[str, Any]:
        """Name, sniffed type, size and SHA-256: to be stored with encrypt_json, never plain."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


def safe_filename(raw: str) -> str:
    """The last path component, without control or format characters (may be long: the
    caller refuses names past MAX_FILENAME)."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = name.strip(" .")
    return name or "upload"


def _disposition(header: bytes) -> tuple[str | None, str | None]:
    _kind, options = parse_options_header(header)
    name = options.get(b"name")
    if b"filename*" in options:
        _charset, _, quoted = options[b"filename*"].decode("latin-1").partition("''")
        filename: str | None = unquote(quoted, encoding="utf-8", errors="replace")
    elif b"filename" in options:
        filename = options[b"filename"].decode("utf-8", errors="replace")
    else:
        filename = None
    return (name.decode("utf-8", errors="replace") if name is not None else None), filename


class _Sink:
    """Receives python-multipart callbacks; encrypts the file part, keeps small text parts."""

    def __init__(self, *, dek: OpenDataKey, store: BlobStore, max_bytes: int, field_name: str):
        self.dek, self.store, self.max_bytes, self.field_name = dek, store, max_bytes, field_name
        self.writer: BlobWriter | None = None
        self.encryptor: StreamEncryptor | None = None
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.head = bytearray()
        self.filename = ""
        self.done = False
        self.fields: dict[str, str] = {}
        self._headers: dict[str, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._part: str | None = None  # "file", a text field name, or None
        self._text = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers, self._part, self._text = {}, None, bytearray()

    def _header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        name, filename = _disposition(self._headers.get("content-disposition", b""))
        if name == self.field_name and filename is not None:
            if self.writer is not None:
                raise InvalidInput(self.field_name, "send one file per upload")
            self.filename = safe_filename(filename)
            if len(self.filename) > MAX_FILENAME:
                raise InvalidInput(
                    self.field_name, f"name too long: at most {MAX_FILENAME} characters"
                )
            self.writer = self.store.create()
            self.encryptor = StreamEncryptor(self.dek, self.writer.blob_id)
            self._part = "file"
        elif name is not None and filename is None:
            if len(self.fields) >= _MAX_TEXT_FIELDS:
                raise InvalidInput("form", "too many fields")
            self._part = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._part == "file" and self.writer and self.encryptor:
            self.size += len(piece)
            if self.size > self.max_bytes:
                raise PayloadTooLarge()
            if len(self.head) < _SNIFF_BYTES:
                self.head += piece[: _SNIFF_BYTES - len(self.head)]
            self.sha256.update(piece)
            self.writer.write(self.encryptor.update(piece))
        elif self._part is not None:
            self._text += piece
            if len(self._text) > _MAX_TEXT_FIELD:
                raise InvalidInput(self._part, "too long")

    def _part_end(self) -> None:
        if self._part == "file" and self.writer and self.encryptor:
            self.writer.write(self.encryptor.finish())
            self.done = True
        elif self._part is not None:
            self.fields[self._part] = self._text.decode("utf-8", errors="replace")
        self._part = None


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise InvalidInput("file", "send the file as multipart/form-data")
    if not 1 <= len(options[b"boundary"]) <= MAX_BOUNDARY_LENGTH:
        raise InvalidInput("file", "the multipart boundary must be 1 to 256 characters")
    return options[b"boundary"]


async def receive_encrypted_upload(
    request: Request,
    *,
    dek: OpenDataKey,
    store: BlobStore,
    max_bytes: int,
    field_name: str = "file",
) -> StoredUpload:
    """Stream a multipart upload into an encrypted blob; 413 past `max_bytes` of file data."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + _ENVELOPE_SLACK:
        raise PayloadTooLarge()
    sink = _Sink(dek=dek, store=store, max_bytes=max_bytes, field_name=field_name)
    parser = MultipartParser(
        _boundary(request),
        sink.callbacks(),  # type: ignore[arg-type]
        max_header_size=_MAX_HEADER_LINE,
    )
    try:
        await _pump(request, parser, limit=max_bytes + _ENVELOPE_SLACK)
        writer = _complete(sink)
    except MultipartParseError as exc:
        _abort(sink)
        if "header size" in str(exc):
            raise InvalidInput(field_name, "a part header is too long") from None
        raise InvalidInput(field_name, "malformed multipart body") from None
    except OSError as exc:
        _abort(sink)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("blob storage full: upload refused")  # noqa: TRY400 - no traceback: not a bug
            raise StorageFull() from None
        raise
    except (Exception, ClientDisconnect):
        _abort(sink)
        raise
    return StoredUpload(
        blob_id=writer.blob_id,
        size=sink.size,
        sha256=sink.sha256.hexdigest(),
        content_type=sniff_content_type(bytes(sink.head)),
        filename=sink.filename,
        fields=sink.fields,
    )


async def _pump(request: Request, parser: MultipartParser, *, limit: int) -> None:
    received = 0
    async for piece in request.stream():
        received += len(piece)
        if received > limit:
            raise PayloadTooLarge()
        parser.write(piece)
    parser.finalize()


def _complete(sink: _Sink) -> BlobWriter:
    if sink.writer is None or not sink.done:
        raise InvalidInput(sink.field_name, "no complete file in the upload")
    sink.writer.commit()
    return sink.writer


def _abort(sink: _Sink) -> None:
    if sink.writer is not None:
        sink.writer.abort()
