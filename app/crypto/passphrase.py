"""Passphrase seal mode: the root key wrapped under an Argon2id-derived key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from app.crypto import aead

WRAP_AAD = b"haven/root/passphrase/v1"
MIN_PASSPHRASE_CHARS = 12


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters, stored beside the wrapped root so they can grow later."""

    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4


DEFAULT_PARAMS = Argon2Params()


def derive_wrapping_key(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    """The 256-bit key-wrapping key for a passphrase (Argon2id, RFC 9106)."""
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=aead.KEY_BYTES,
        type=Type.ID,
    )


def wrap_root(root: bytes, passphrase: str, params: Argon2Params) -> tuple[bytes, bytes]:
    """Wrap the root key under a passphrase: returns (salt, wrapped root)."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ValueError(f"the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters")
    salt = secrets.token_bytes(16)
    key = derive_wrapping_key(passphrase, salt, params)
    wrapped = bytes([aead.FORMAT_AES256GCM_V1]) + aead.seal(aead.aesgcm(key), root, WRAP_AAD)
    return salt, wrapped


def unwrap_root(wrapped: bytes, passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    """The root key, or DecryptionFailed when the passphrase is wrong."""
    if not wrapped or wrapped[0] != aead.FORMAT_AES256GCM_V1:
        raise ValueError("unknown wrapped-root format")
    key = derive_wrapping_key(passphrase, salt, params)
    return aead.unseal(aead.aesgcm(key), wrapped[1:], WRAP_AAD, what="passphrase")
