"""The keyring: the root key lives only in memory, and only while the service is unsealed."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import Sealed

log = logging.getLogger("haven.keyring")

ROOT_KEY_BYTES = 32


class Keyring:
    """Holds the root key while unsealed; everything else derives from or is wrapped by it."""

    def __init__(self) -> None:
        self._root: bytes | None = None
        self._lock = threading.RLock()
        self._on_seal: list[Callable[[], None]] = []

    @property
    def sealed(self) -> bool:
        """True while no root key is in memory."""
        return self._root is None

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
            hooks = list(self._on_seal)
        for hook in hooks:
            hook()

    def on_seal(self, hook: Callable[[], None]) -> None:
        """Register work to do whenever the service is sealed."""
        with self._lock:
            self._on_seal.append(hook)

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """A subkey for one purpose, derived from the root key with HKDF-SHA256."""
        with self._lock:
            if self._root is None:
                raise Sealed()
            return HKDF(
                algorithm=hashes.SHA256(),
                length=length,
                salt=None,
                info=f"haven/v1/{purpose}".encode(),
            ).derive(self._root)


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
