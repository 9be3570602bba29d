"""C2SP signed notes carrying tlog checkpoints, signed with Ed25519.

A checkpoint note is the body

    <origin>\\n<tree size>\\n<base64 root hash>\\n

then a blank line and one line per signature: "— <key name> <base64(key hash || sig)>\\n",
where the key hash is the first 4 bytes of SHA-256(key name || "\\n" || 0x01 || public key)
and the signature covers the body bytes. A verifier key is written
"<name>+<key hash hex>+<base64(0x01 || public key)>" (c2sp.org/signed-note,
c2sp.org/tlog-checkpoint).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.audit.merkle import HASH_SIZE

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # an em dash and a space start every signature line
_NAME = re.compile(r"^[^\s+]+$")
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")


class NoteError(ValueError):
    """A note or checkpoint that is malformed or carries no valid known signature."""


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key that may sign checkpoints."""

    name: str
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        """The 4-byte id that signature lines carry."""
        data = self.name.encode() + b"\n" + bytes([ALG_ED25519]) + self.public_key
        return hashlib.sha256(data).digest()[:4]

    def encode(self) -> str:
        """The verifier key string a partner or lawyer keeps."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{blob}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Read "<name>+<hash>+<key>", checking the hash matches the key."""
    try:
        name, khash, blob = text.strip().split("+", 2)  # base64 may itself hold "+"
        raw = base64.b64decode(blob, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("not a verifier key") from exc
    if not _NAME.match(name) or len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("not an Ed25519 verifier key")
    key = VerifierKey(name, raw[1:])
    if key.key_hash.hex() != khash:
        raise NoteError("verifier key hash does not match the key")
    return key


def public_verifier_key(name: str, private_key: Ed25519PrivateKey) -> VerifierKey:
    """The verifier key of a signing key."""
    if not _NAME.match(name):
        raise ValueError("key name must be non-empty, without spaces or '+'")
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return VerifierKey(name, raw)


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint states: the log's origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The signed text."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note for a checkpoint."""
    if "\n" in checkpoint.origin or not checkpoint.origin:
        raise ValueError("origin must be one non-empty line")
    body = checkpoint.body()
    key = public_verifier_key(name, private_key)
    sig = private_key.sign(body.encode())
    return f"{body}\n{SIG_PREFIX}{name} {base64.b64encode(key.key_hash + sig).decode()}\n"


def _split(note: str) -> tuple[str, list[str]]:
    if not note.endswith("\n") or "\n\n" not in note:
        raise NoteError("not a signed note")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("control characters in note")
    body, _, sigs = note.partition("\n\n")
    return body + "\n", sigs[:-1].split("\n")


def _verified_by(body: str, lines: list[str], keys: list[VerifierKey]) -> VerifierKey:
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed signature line")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed signature") from exc
        for key in keys:
            if key.name == name and raw[:4] == key.key_hash and len(raw) == 68:
                try:
                    Ed25519PublicKey.from_public_bytes(key.public_key).verify(
                        raw[4:], body.encode()
                    )
                except InvalidSignature:
                    raise NoteError(f"bad signature by {name}") from None
                return key
    raise NoteError("no signature by a trusted key")


def open_checkpoint(note: str, keys: list[VerifierKey]) -> Checkpoint:
    """Verify a signed checkpoint note with trusted keys and return what it states."""
    body, sig_lines = _split(note)
    _verified_by(body, sig_lines, keys)
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not lines[0] or not _SIZE.match(lines[1]):
        raise NoteError("malformed checkpoint body")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise NoteError("malformed root hash") from exc
    if len(root) != HASH_SIZE:
        raise NoteError("root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)
