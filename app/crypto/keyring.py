"""The keyring: the root key lives only in memory, and only while the service is unsealed.

Root key -> (HKDF) purpose keys: the KEK-wrapping key, blind-index keys, the check value.
Root key -> KEK versions (random, stored wrapped) -> per-case DEKs (see envelope.py).
Seal modes decide how an operator brings the root key back: a key file (dev), a passphrase
(Argon2id) or K of N SLIP-39 shares (shamir). See SECURITY.md, "Encryption at rest"."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from app.config import SealMode
from app.crypto import aead, passphrase, shamir
from app.crypto.errors import KeyringNotInitialised, KeyUnavailable, UnsealRejected
from app.crypto.models import KeyEncryptionKey, KeyringState
from app.errors import Sealed

log = logging.getLogger("haven.keyring")

ROOT_KEY_BYTES = 32
_CHECK_MESSAGE = b"haven/v1/root-key-check"


def _hkdf(root: bytes, purpose: str, length: int) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=f"haven/v1/{purpose}".encode()
    ).derive(root)


def check_value_for(root: bytes) -> bytes:
    """A one-way value that tells the right root key from a wrong one (stored in the DB)."""
    return hmac.new(_hkdf(root, "key-check", 32), _CHECK_MESSAGE, hashlib.sha256).digest()


def kek_aad(version: int) -> bytes:
    """Associated data binding a wrapped KEK to its version."""
    return b"haven/kek/v1" + struct.pack(">I", version)


@dataclass(frozen=True)
class SealStatus:
    """What anyone may know about the seal: state, mode and unseal progress."""

    sealed: bool
    initialised: bool
    mode: str | None
    progress: int
    threshold: int
    shares: int | None


class Keyring:
    """Holds the root key while unsealed; everything else derives from or is wrapped by it."""

    def __init__(self) -> None:
        self._root: bytes | None = None
        self._lock = threading.RLock()
        self._on_seal: list[Callable[[], None]] = []
        self._on_unseal: list[Callable[[Session], None]] = []
        self._keks: dict[int, AESGCM] = {}
        self._epoch = 0
        self._collector: shamir.ShareCollector | None = None

    @property
    def sealed(self) -> bool:
        """True while no root key is in memory."""
        return self._root is None

    @property
    def epoch(self) -> int:
        """Changes at every seal: keys opened in an earlier epoch stop working."""
        return self._epoch

    def unseal_with_root(self, root: bytes) -> None:
        """Put the root key in memory."""
        if len(root) != ROOT_KEY_BYTES:
            raise ValueError("root key must be 32 bytes")
        with self._lock:
            self._root = bytes(root)

    def seal(self) -> None:
        """Drop the root key from memory and run every seal hook (e.g. end all sessions)."""
        with self._lock:
            self._root = None
            self._keks.clear()
            self._epoch += 1
            if self._collector is not None:
                self._collector.clear()
            self._collector = None
            hooks = list(self._on_seal)
        for hook in hooks:
            hook()

    def on_seal(self, hook: Callable[[], None]) -> None:
        """Register work to do whenever the service is sealed."""
        with self._lock:
            self._on_seal.append(hook)

    def on_unseal(self, hook: Callable[[Session], None]) -> None:
        """Register work to do after an unseal checked against the database (given the
        unsealing session): e.g. note which seals this process has already seen."""
        with self._lock:
            self._on_unseal.append(hook)

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """A subkey for one purpose, derived from the root key with HKDF-SHA256."""
        with self._lock:
            if self._root is None:
                raise Sealed()
            return _hkdf(self._root, purpose, length)

    def check_value(self) -> bytes:
        """The check value of the root in memory (as `check_value_for`; raises Sealed)."""
        return hmac.new(self.derive("key-check"), _CHECK_MESSAGE, hashlib.sha256).digest()

    # --- KEK versions -------------------------------------------------------------------

    def wrap_kek(self, version: int, kek: bytes) -> bytes:
        """A KEK wrapped under the root-derived wrapping key, bound to its version."""
        cipher = aead.aesgcm(self.derive("kek-wrap"))
        return bytes([aead.FORMAT_AES256GCM_V1]) + aead.seal(cipher, kek, kek_aad(version))

    def kek(self, session: Session, version: int) -> AESGCM:
        """The cipher of one KEK version (unwrapped once, cached until sealing)."""
        with self._lock:
            if self._root is None:
                raise Sealed()
            cached = self._keks.get(version)
            if cached is not None:
                return cached
            epoch = self._epoch
        row = session.get(KeyEncryptionKey, version)
        if row is None or row.wrapped is None:
            raise KeyUnavailable(f"KEK version {version} is retired or unknown")
        if row.wrapped[0] != aead.FORMAT_AES256GCM_V1:
            raise KeyUnavailable(f"KEK version {version} has an unknown format")
        wrapping = aead.aesgcm(self.derive("kek-wrap"))
        kek = aead.unseal(wrapping, row.wrapped[1:], kek_aad(version), what="KEK")
        cipher = aead.aesgcm(kek)
        with self._lock:
            if self._epoch == epoch and self._root is not None:
                self._keks[version] = cipher
        return cipher

    def forget_kek(self, version: int) -> None:
        """Drop one cached KEK (after it is retired)."""
        with self._lock:
            self._keks.pop(version, None)

    # --- unsealing ----------------------------------------------------------------------

    def status(self, session: Session) -> SealStatus:
        """Seal state and progress (safe to show anyone)."""
        state = session.get(KeyringState, 1)
        if state is None:
            return SealStatus(self.sealed, False, None, 0, 1, None)
        with self._lock:
            progress = self._collector.progress if self._collector else 0
        threshold = state.shamir_threshold or 1
        return SealStatus(self.sealed, True, state.mode, progress, threshold, state.shamir_shares)

    def unseal_verified(self, session: Session, root: bytes) -> None:
        """Unseal with a root key after checking it against the stored check value."""
        state = session.get(KeyringState, 1)
        if state is not None and not hmac.compare_digest(check_value_for(root), state.check_value):
            raise UnsealRejected("This key does not belong to this installation.")
        self.unseal_with_root(root)
        log.info("keyring unsealed")
        with self._lock:
            hooks = list(self._on_unseal)
        for hook in hooks:
            try:
                hook(session)
            except Exception:  # an unseal stands; the hook's owner copes with a missed call
                log.exception("an unseal hook failed")

    def unseal_from_key_file(self, session: Session, path: Path) -> None:
        """Dev mode: unseal from the 0600 key file beside the data."""
        self.unseal_verified(session, read_dev_key_file(path))

    def submit_unseal_key(
        self, session: Session, key: str, *, key_file: Path | None = None
    ) -> SealStatus:
        """Take one passphrase or share; unseal once enough has been given."""
        state = session.get(KeyringState, 1)
        if state is None:
            raise KeyringNotInitialised()
        if not self.sealed:
            return self.status(session)
        if state.mode == SealMode.DEV:
            if key_file is None:
                raise UnsealRejected("Dev mode unseals from its key file; none is configured.")
            self.unseal_from_key_file(session, key_file)
        elif state.mode == SealMode.PASSPHRASE:
            self.unseal_verified(session, _unwrap_passphrase(state, key))
        else:
            root = self._add_share(state, key)
            if root is not None:
                self.unseal_verified(session, root)
        return self.status(session)

    def _add_share(self, state: KeyringState, key: str) -> bytes | None:
        with self._lock:
            if self._collector is None:
                self._collector = shamir.ShareCollector(
                    threshold=state.shamir_threshold or 2, identifier=state.shamir_identifier
                )
            try:
                return self._collector.add(key)
            except shamir.ShareRejected as exc:
                raise UnsealRejected(str(exc)) from None


def _unwrap_passphrase(state: KeyringState, key: str) -> bytes:
    if (
        state.wrapped_root is None
        or state.kdf_salt is None
        or state.kdf_memory_kib is None
        or state.kdf_time_cost is None
        or state.kdf_parallelism is None
    ):
        raise KeyUnavailable("the keyring state has no wrapped root key")
    params = passphrase.Argon2Params(
        state.kdf_memory_kib, state.kdf_time_cost, state.kdf_parallelism
    )
    try:
        return passphrase.unwrap_root(state.wrapped_root, key, state.kdf_salt, params)
    except aead.DecryptionFailed:
        raise UnsealRejected("The passphrase is wrong.") from None


def create_dev_key_file(path: Path) -> None:
    """Write a fresh random root key to a 0600 file (dev mode only: the key sits beside the
    data, so this protects nothing against a seized disk)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(ROOT_KEY_BYTES))


def read_dev_key_file(path: Path) -> bytes:
    """Read a dev root key, refusing a file others can read."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    data = path.read_bytes()
    if len(data) != ROOT_KEY_BYTES:
        raise ValueError(f"{path} does not hold a 32-byte root key")
    return data
