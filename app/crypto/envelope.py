"""Envelope encryption: a data key (DEK) per owner (a case), wrapped by the current KEK, and
field encryption under it with associated data that binds every ciphertext to its place.

    wrapped DEK  = 0x01 || kek_version (u32) || nonce (12) || AES-256-GCM(DEK) || tag
                   AAD = "haven/dek/v1" || 0x01 || kek_version || dek_id || owner_id
    field value  = 0x01 || nonce (12) || AES-256-GCM(PKCS7-16 padded plaintext) || tag
                   AAD = "haven/field/v1" || 0x01 || owner_id || row_id or zeros || field name

A ciphertext moved to another case, row or field, or a flipped bit, fails to decrypt with
DecryptionFailed; nothing here ever returns a default in its place."""

from __future__ import annotations

import json
import struct
import uuid
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from app.crypto import aead
from app.crypto.ciphertext import Ciphertext
from app.crypto.errors import KeyUnavailable
from app.crypto.keyring import Keyring
from app.crypto.keystore import current_kek_version
from app.crypto.models import DataKey
from app.db import utcnow
from app.errors import Sealed

DEK_FORMAT = aead.FORMAT_AES256GCM_V1
FIELD_FORMAT = aead.FORMAT_AES256GCM_V1
_NO_ROW = b"\x00" * 16
_MAX_FIELD_NAME = 64


class OpenDataKey:
    """An unwrapped DEK bound to its owner; stops working as soon as the keyring is sealed."""

    __slots__ = ("_cipher", "_epoch", "_keyring", "key_id", "owner_id")

    def __init__(
        self, *, key_id: uuid.UUID, owner_id: uuid.UUID, cipher: AESGCM, keyring: Keyring
    ) -> None:
        self.key_id = key_id
        self.owner_id = owner_id
        self._cipher = cipher
        self._keyring = keyring
        self._epoch = keyring.epoch

    def cipher(self) -> AESGCM:
        """The AEAD, unless the keyring was sealed since this key was opened."""
        if self._keyring.sealed or self._keyring.epoch != self._epoch:
            raise Sealed()
        return self._cipher

    def __repr__(self) -> str:
        return f"OpenDataKey(id={self.key_id}, key=<hidden>)"


_FORMAT_BYTE = bytes([DEK_FORMAT])
_DEK_AAD_PREFIX = b"haven/dek/v1" + _FORMAT_BYTE


def dek_aad(*, key_id: uuid.UUID, owner_id: uuid.UUID, kek_version: int) -> bytes:
    """Associated data binding a wrapped DEK to its id, owner and KEK version."""
    return _DEK_AAD_PREFIX + struct.pack(">I", kek_version) + key_id.bytes + owner_id.bytes


def wrap_dek(
    kek: AESGCM, *, dek: bytes, key_id: uuid.UUID, owner_id: uuid.UUID, version: int
) -> bytes:
    """Wrap a DEK under one KEK version (the header carries the version)."""
    aad = dek_aad(key_id=key_id, owner_id=owner_id, kek_version=version)
    return bytes([DEK_FORMAT]) + struct.pack(">I", version) + aead.seal(kek, dek, aad)


def unwrap_dek(kek: AESGCM, row: DataKey) -> bytes:
    """The raw DEK of a row, checking the header against the row's KEK version."""
    if row.wrapped is None or row.destroyed_at is not None:
        raise KeyUnavailable("the data key was destroyed")
    wrapped = row.wrapped
    if len(wrapped) < 5 or wrapped[0] != DEK_FORMAT:
        raise aead.DecryptionFailed("data key")
    (version,) = struct.unpack(">I", wrapped[1:5])
    if version != row.kek_version:
        raise aead.DecryptionFailed("data key")
    aad = dek_aad(key_id=row.id, owner_id=row.owner_id, kek_version=version)
    return aead.unseal(kek, wrapped[5:], aad, what="data key")


def rewrap_dek(
    old: AESGCM,
    new: AESGCM,
    *,
    wrapped: bytes,
    ids: bytes,
    from_version: int,
    to_version: int,
) -> bytes:
    """A wrapped DEK moved from one KEK version to another (`ids` = dek id || owner id bytes).

    Rotation's inner loop: pure bytes in and out, one unwrap and one wrap."""
    old_header = struct.pack(">I", from_version)
    if len(wrapped) < 5 or wrapped[0] != DEK_FORMAT or wrapped[1:5] != old_header:
        raise aead.DecryptionFailed("data key")
    dek = aead.unseal(old, wrapped[5:], _DEK_AAD_PREFIX + old_header + ids, what="data key")
    header = struct.pack(">I", to_version)
    return _FORMAT_BYTE + header + aead.seal(new, dek, _DEK_AAD_PREFIX + header + ids)


def create_data_key(session: Session, *, keyring: Keyring, owner_id: uuid.UUID) -> DataKey:
    """A fresh DEK for one owner (a case), wrapped under the current KEK version."""
    version = current_kek_version(session, keyring)
    key_id = uuid.uuid4()
    wrapped = wrap_dek(
        keyring.kek(session, version),
        dek=aead.new_key(),
        key_id=key_id,
        owner_id=owner_id,
        version=version,
    )
    row = DataKey(id=key_id, owner_id=owner_id, kek_version=version, wrapped=wrapped)
    session.add(row)
    session.flush()
    return row


def open_data_key(
    session: Session, *, keyring: Keyring, key_id: uuid.UUID, owner_id: uuid.UUID
) -> OpenDataKey:
    """Unwrap the DEK `key_id`, which must belong to `owner_id` (else DecryptionFailed)."""
    row = session.get(DataKey, key_id)
    if row is None:
        raise KeyUnavailable("no such data key")
    if row.owner_id != owner_id:
        raise aead.DecryptionFailed("data key")
    dek = unwrap_dek(keyring.kek(session, row.kek_version), row)
    return OpenDataKey(key_id=key_id, owner_id=owner_id, cipher=aead.aesgcm(dek), keyring=keyring)


def destroy_data_key(session: Session, *, key_id: uuid.UUID) -> None:
    """Crypto-shred: erase the wrapped DEK (the tombstone row keeps id, owner and time)."""
    row = session.get(DataKey, key_id, with_for_update=True)
    if row is None:
        raise KeyUnavailable("no such data key")
    row.wrapped = None
    row.destroyed_at = row.destroyed_at or utcnow()
    session.flush()


def field_aad(*, owner_id: uuid.UUID, field: str, row_id: uuid.UUID | None) -> bytes:
    """Associated data binding a field ciphertext to case, row (optional) and field name."""
    if not field or len(field) > _MAX_FIELD_NAME or not field.isascii() or "\x00" in field:
        raise ValueError("field names are short, non-empty ASCII")
    row = row_id.bytes if row_id is not None else _NO_ROW
    return b"haven/field/v1" + bytes([FIELD_FORMAT]) + owner_id.bytes + row + field.encode()


def encrypt_field(
    dek: OpenDataKey, *, field: str, value: bytes, row_id: uuid.UUID | None = None
) -> Ciphertext:
    """Encrypt bytes for one field of the DEK's owner (padded to 16 bytes to blur length)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(value) + padder.finalize()
    aad = field_aad(owner_id=dek.owner_id, field=field, row_id=row_id)
    return Ciphertext(bytes([FIELD_FORMAT]) + aead.seal(dek.cipher(), padded, aad))


def decrypt_field(
    dek: OpenDataKey, *, field: str, ciphertext: Ciphertext, row_id: uuid.UUID | None = None
) -> bytes:
    """Decrypt one field; raises DecryptionFailed if anything about it does not match."""
    data = ciphertext.data
    if not data or data[0] != FIELD_FORMAT:
        raise aead.DecryptionFailed(f"field {field}")
    aad = field_aad(owner_id=dek.owner_id, field=field, row_id=row_id)
    padded = aead.unseal(dek.cipher(), data[1:], aad, what=f"field {field}")
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:  # authenticated but badly padded: only a writer bug can cause it
        raise aead.DecryptionFailed(f"field {field}") from None


def encrypt_text(
    dek: OpenDataKey, *, field: str, value: str, row_id: uuid.UUID | None = None
) -> Ciphertext:
    """Encrypt a text field (UTF-8)."""
    return encrypt_field(dek, field=field, value=value.encode("utf-8"), row_id=row_id)


def decrypt_text(
    dek: OpenDataKey, *, field: str, ciphertext: Ciphertext, row_id: uuid.UUID | None = None
) -> str:
    """Decrypt a text field."""
    return decrypt_field(dek, field=field, ciphertext=ciphertext, row_id=row_id).decode("utf-8")


def encrypt_json(
    dek: OpenDataKey, *, field: str, value: Any, row_id: uuid.UUID | None = None
) -> Ciphertext:
    """Encrypt a structured field (lists, dicts, numbers, text) as canonical JSON."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return encrypt_text(dek, field=field, value=text, row_id=row_id)


def decrypt_json(
    dek: OpenDataKey, *, field: str, ciphertext: Ciphertext, row_id: uuid.UUID | None = None
) -> Any:
    """Decrypt a structured field."""
    return json.loads(decrypt_text(dek, field=field, ciphertext=ciphertext, row_id=row_id))
