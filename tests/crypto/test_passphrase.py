"""The root key wrapped under a passphrase (the "passphrase" seal mode): the shortest
passphrase allowed, a wrapped root refused for its format byte (which is not part of the
associated data: only this check stops a changed one) or when empty, and a wrong passphrase
refused naming the passphrase — never a root that is not the one wrapped."""

from __future__ import annotations

import secrets

import pytest

from app.crypto import passphrase
from app.crypto.aead import DecryptionFailed
from tests.crypto.conftest import CHEAP_ARGON2

GOOD = "orchid lantern ferry 9"


def test_the_shortest_passphrase_allowed_wraps_and_one_shorter_is_refused() -> None:
    root = secrets.token_bytes(32)
    shortest = "x" * passphrase.MIN_PASSPHRASE_CHARS
    salt, wrapped = passphrase.wrap_root(root, shortest, CHEAP_ARGON2)
    assert passphrase.unwrap_root(wrapped, shortest, salt, CHEAP_ARGON2) == root
    with pytest.raises(ValueError, match="at least 12 characters"):
        passphrase.wrap_root(root, shortest[:-1], CHEAP_ARGON2)


def test_a_wrapped_root_of_another_format_or_empty_is_refused() -> None:
    root = secrets.token_bytes(32)
    salt, wrapped = passphrase.wrap_root(root, GOOD, CHEAP_ARGON2)
    for bad in (bytes([wrapped[0] ^ 0x80]) + wrapped[1:], b""):
        with pytest.raises(ValueError, match=r"^unknown wrapped-root format$"):
            passphrase.unwrap_root(bad, GOOD, salt, CHEAP_ARGON2)


def test_a_wrong_passphrase_is_refused_naming_the_passphrase() -> None:
    salt, wrapped = passphrase.wrap_root(secrets.token_bytes(32), GOOD, CHEAP_ARGON2)
    with pytest.raises(DecryptionFailed, match=r"^passphrase failed to authenticate"):
        passphrase.unwrap_root(wrapped, GOOD + "!", salt, CHEAP_ARGON2)
