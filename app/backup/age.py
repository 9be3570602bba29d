"""The few calls into pyrage (age-encryption.org/v1, the Rust `age` crate), typed: pyrage
ships no type information. X25519 recipients and identities only: no passphrase mode, no
SSH keys, nothing from the environment."""

from __future__ import annotations

from typing import IO, Any, NewType

import pyrage

Recipient = NewType("Recipient", object)
Identity = NewType("Identity", object)


class KeyInvalid(ValueError):
    """Text that is not an age X25519 key of the expected kind."""


class DecryptFailed(Exception):
    """age refused the file: wrong identity, or damaged or altered bytes."""

    def __init__(self, message: str, *, wrong_key: bool) -> None:
        super().__init__(message)
        self.wrong_key = wrong_key


def generate() -> tuple[str, str]:
    """A fresh key pair: (identity AGE-SECRET-KEY-1..., recipient age1...)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def recipient(text: str) -> Recipient:
    """An age X25519 public key (age1...)."""
    try:
        return Recipient(pyrage.x25519.Recipient.from_str(text.strip()))
    except pyrage.RecipientError:
        raise KeyInvalid("not an age public key (it starts with age1)") from None


def identity(text: str) -> Identity:
    """An age X25519 identity (AGE-SECRET-KEY-1...)."""
    try:
        return Identity(pyrage.x25519.Identity.from_str(text.strip()))
    except pyrage.IdentityError:
        raise KeyInvalid("not an age identity (it starts with AGE-SECRET-KEY-1)") from None


def encrypt_io(source: IO[bytes], sink: IO[bytes], recipients: list[Recipient]) -> None:
    """Encrypt everything read from source to sink, for each recipient."""
    pyrage.encrypt_io(source, sink, list(recipients))


def decrypt_io(source: IO[bytes], sink: Any, identities: list[Identity]) -> None:
    """Decrypt source into sink (an object with write/flush). Bytes reach the sink before
    the stream's end is authenticated: the caller trusts nothing until this returns."""
    try:
        pyrage.decrypt_io(source, sink, list(identities))
    except (pyrage.DecryptError, OSError, ValueError) as exc:
        wrong = "no matching keys" in str(exc).lower()
        raise DecryptFailed(str(exc), wrong_key=wrong) from None
