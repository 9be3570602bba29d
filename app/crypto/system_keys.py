"""Keys for secrets that belong to no case: account TOTP secrets and (until cases have data
keys of their own) break-glass reasons. Both go through the envelope's field format, so the
ciphertext is bound to its owner, row and field like any case field.

- TOTP secrets: a key derived from the root key (HKDF, purpose "system/totp-secret/v1"),
  never stored. No database row can be lost, raced or rotated away, and the secret is as
  safe as the root key itself. Chosen over a KEK-wrapped DEK because a TOTP secret needs no
  crypto-shredding of its own (deleting the account deletes it); a root rotation
  (app/system/key_ceremonies.py) re-encrypts every secret under the new root's key.
- Break-glass reasons: free text that may name the person, so case data. Until cases carry
  a DEK, they are encrypted under a KEK-wrapped DEK owned by BREAK_GLASS_OWNER (rewrapped by
  rotation like every DEK); each grant records the DEK it used (`reason_key_id`), so moving
  reasons under the case's own DEK later is a per-row change, not a format change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import aead
from app.crypto.ciphertext import Ciphertext
from app.crypto.envelope import (
    OpenDataKey,
    create_data_key,
    decrypt_text,
    encrypt_text,
    open_data_key,
)
from app.crypto.keyring import Keyring
from app.crypto.models import DataKey

# Fixed owner ids, chosen once; never the id of a case (cases use random UUIDv4s).
TOTP_OWNER = uuid.UUID("00000000-0000-0000-0000-00000000070b")
BREAK_GLASS_OWNER = uuid.UUID("00000000-0000-0000-0000-0000000000b9")
TOTP_PURPOSE = "system/totp-secret/v1"
TOTP_FIELD = "totp_secret"
BREAK_GLASS_FIELD = "break_glass_reason"


def totp_key(keyring: Keyring) -> OpenDataKey:
    """The key TOTP secrets are encrypted under (raises Sealed while sealed)."""
    cipher = aead.aesgcm(keyring.derive(TOTP_PURPOSE))
    return OpenDataKey(key_id=TOTP_OWNER, owner_id=TOTP_OWNER, cipher=cipher, keyring=keyring)


def seal_totp_secret(keyring: Keyring, *, user_id: uuid.UUID, secret: str) -> Ciphertext:
    """A TOTP secret encrypted for one account (bound to its user id)."""
    return encrypt_text(totp_key(keyring), field=TOTP_FIELD, value=secret, row_id=user_id)


def open_totp_secret(keyring: Keyring, *, user_id: uuid.UUID, sealed: Ciphertext) -> str:
    """The account's TOTP secret; DecryptionFailed if it belongs to another account."""
    return decrypt_text(totp_key(keyring), field=TOTP_FIELD, ciphertext=sealed, row_id=user_id)


def system_data_key(session: Session, *, keyring: Keyring, owner_id: uuid.UUID) -> OpenDataKey:
    """The oldest live DEK of a system owner, created on first use.

    Two first uses racing may create two DEKs; harmless, since every ciphertext's row
    records the DEK it was made with."""
    stmt = (
        select(DataKey.id)
        .where(DataKey.owner_id == owner_id, DataKey.destroyed_at.is_(None))
        .order_by(DataKey.created_at, DataKey.id)
        .limit(1)
    )
    key_id = session.scalar(stmt)
    if key_id is None:
        key_id = create_data_key(session, keyring=keyring, owner_id=owner_id).id
    return open_data_key(session, keyring=keyring, key_id=key_id, owner_id=owner_id)


def seal_break_glass_reason(
    session: Session, *, keyring: Keyring, grant_id: uuid.UUID, reason: str
) -> tuple[uuid.UUID, Ciphertext]:
    """(DEK id, ciphertext) of a break-glass reason, bound to its grant."""
    dek = system_data_key(session, keyring=keyring, owner_id=BREAK_GLASS_OWNER)
    sealed = encrypt_text(dek, field=BREAK_GLASS_FIELD, value=reason, row_id=grant_id)
    return dek.key_id, sealed


def open_break_glass_reason(
    session: Session,
    *,
    keyring: Keyring,
    grant_id: uuid.UUID,
    key_id: uuid.UUID,
    sealed: Ciphertext,
) -> str:
    """The reason of one grant (DecryptionFailed if moved to another grant)."""
    dek = open_data_key(session, keyring=keyring, key_id=key_id, owner_id=BREAK_GLASS_OWNER)
    return decrypt_text(dek, field=BREAK_GLASS_FIELD, ciphertext=sealed, row_id=grant_id)
