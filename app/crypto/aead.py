"""AES-256-GCM with random 96-bit nonces, composed from `cryptography`; no primitive of our own.

Every ciphertext Haven stores starts with a format byte, so the algorithm and layout can
change later without guessing: readers dispatch on it and refuse formats they do not know.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

# Format 1: AES-256-GCM, 96-bit random nonce, 128-bit tag.
FORMAT_AES256GCM_V1 = 0x01


class DecryptionFailed(Exception):
    """A ciphertext did not authenticate: wrong key, wrong context, or tampered bytes.

    Never caught to return a default: the caller must treat the data as unavailable."""

    def __init__(self, what: str = "ciphertext") -> None:
        super().__init__(f"{what} failed to authenticate (wrong key, wrong context or tampered)")


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return secrets.token_bytes(KEY_BYTES)


def aesgcm(key: bytes) -> AESGCM:
    """An AES-256-GCM instance, refusing keys of the wrong length."""
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key")
    return AESGCM(key)


def seal(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || ciphertext || tag, under a fresh random nonce."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, plaintext, aad)


def unseal(cipher: AESGCM, sealed: bytes, aad: bytes, *, what: str = "ciphertext") -> bytes:
    """Open nonce || ciphertext || tag, raising DecryptionFailed on any mismatch."""
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailed(what)
    try:
        return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionFailed(what) from None
