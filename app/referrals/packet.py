"""Referral packets: the shared fields encrypted to a partner's X25519 key with HPKE.

Format `haven-referral-packet` version 1 (documented in SECURITY.md):

    {"format": "haven-referral-packet", "version": 1,
     "suite": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM",
     "recipient": <key id>, "referral_id": <uuid>, "created_at": <ISO 8601 UTC>,
     "payload": <base64 of the RFC 9180 single-shot output: enc || ciphertext>}

The HPKE `info` is the canonical JSON of every header field but `payload`, so a packet
whose header was altered (another referral id, another recipient) fails to open. The
payload is JSON: referral id, case code, partner name, the chosen fields and the note.
A partner opens it with `haven referral open PACKET --key FILE`, without a server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

FORMAT = "haven-referral-packet"
VERSION = 1
SUITE_NAME = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"
PUBLIC_KEY_PREFIX = "haven-partner-x25519:"
_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_HEADER_FIELDS = ("format", "version", "suite", "recipient", "referral_id", "created_at")


class PacketError(Exception):
    """A packet or key that cannot be used; the message says why, never what is inside."""


@dataclass(frozen=True)
class OpenedPacket:
    """What a partner reads out of a packet."""

    header: dict[str, Any]
    body: dict[str, Any]


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode_public_key(key: X25519PublicKey) -> str:
    """The printable form of a partner's public key, as `haven partner keygen` shows it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_public_key(text: str) -> X25519PublicKey:
    """Parse a printed public key, refusing anything else with a clear reason."""
    text = text.strip()
    if not text.startswith(PUBLIC_KEY_PREFIX):
        raise PacketError(f"a partner public key starts with {PUBLIC_KEY_PREFIX!r}")
    b64 = text.removeprefix(PUBLIC_KEY_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    except ValueError:
        raise PacketError("the partner public key is not valid base64") from None
    if len(raw) != 32:
        raise PacketError("the partner public key must be 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def key_id(key: X25519PublicKey) -> str:
    """A short fingerprint naming the recipient key (SHA-256 of the raw key, 16 hex)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(private_key_file: Path) -> str:
    """Write a new private key (PEM, 0600, never overwriting) and return the public key text."""
    private = X25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return encode_public_key(private.public_key())


def load_private_key(path: Path) -> X25519PrivateKey:
    """Read a partner's private key file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise PacketError("the key file is not a PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise PacketError("the key file does not hold an X25519 private key")
    return key


def seal_packet(
    *,
    recipient: X25519PublicKey,
    referral_id: str,
    created_at: datetime,
    body: dict[str, Any],
) -> bytes:
    """Encrypt body to the recipient; the result is the packet file's bytes."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "suite": SUITE_NAME,
        "recipient": key_id(recipient),
        "referral_id": referral_id,
        "created_at": created_at.isoformat(),
    }
    sealed = _SUITE.encrypt(_canonical(body), recipient, info=_canonical(header))
    packet = {**header, "payload": base64.b64encode(sealed).decode()}
    return json.dumps(packet, indent=2, sort_keys=True).encode() + b"\n"


def open_packet(data: bytes, private_key: X25519PrivateKey) -> OpenedPacket:
    """Decrypt a packet; any change to header or payload, or the wrong key, fails."""
    try:
        packet = json.loads(data)
    except ValueError:
        raise PacketError("not a Haven referral packet (not JSON)") from None
    if not isinstance(packet, dict) or packet.get("format") != FORMAT:
        raise PacketError("not a Haven referral packet")
    if packet.get("version") != VERSION or packet.get("suite") != SUITE_NAME:
        raise PacketError(f"unsupported packet version {packet.get('version')!r}")
    if set(packet) != {*_HEADER_FIELDS, "payload"}:
        raise PacketError("the packet has missing or unexpected fields")
    header = {name: packet[name] for name in _HEADER_FIELDS}
    if header["recipient"] != key_id(private_key.public_key()):
        raise PacketError("this packet was encrypted to another key")
    try:
        payload = base64.b64decode(packet["payload"], validate=True)
        plain = _SUITE.decrypt(payload, private_key, info=_canonical(header))
    except (ValueError, InvalidTag):
        raise PacketError("the packet was altered or is damaged; it cannot be opened") from None
    return OpenedPacket(header=header, body=json.loads(plain))
