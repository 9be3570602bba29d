"""Keyring state in the database: initialisation per seal mode and KEK versions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import SealMode
from app.crypto import aead, passphrase, shamir
from app.crypto.keyring import ROOT_KEY_BYTES, Keyring, check_value_for
from app.crypto.models import KekState, KeyEncryptionKey, KeyringState
from app.errors import Conflict


@dataclass(frozen=True)
class InitResult:
    """What `haven init` must show the operator once (shares), and nothing else."""

    mode: SealMode
    kek_version: int
    shares: list[str] = field(default_factory=list, repr=False)


def is_initialised(session: Session) -> bool:
    """True once a keyring state row exists."""
    return session.get(KeyringState, 1) is not None


def initialise_keyring(
    session: Session,
    *,
    keyring: Keyring,
    mode: SealMode,
    root: bytes | None = None,
    passphrase_text: str | None = None,
    argon2: passphrase.Argon2Params = passphrase.DEFAULT_PARAMS,
    shares: int = 3,
    threshold: int = 2,
) -> InitResult:
    """Create the keyring state and KEK version 1; leaves `keyring` unsealed with the root."""
    if is_initialised(session):
        raise Conflict("The keyring is already initialised.")
    root = root if root is not None else secrets.token_bytes(ROOT_KEY_BYTES)
    state = KeyringState(id=1, mode=mode.value, check_value=check_value_for(root))
    mnemonics: list[str] = []
    if mode is SealMode.PASSPHRASE:
        if not passphrase_text:
            raise ValueError("passphrase mode needs a passphrase")
        state.kdf_salt, state.wrapped_root = passphrase.wrap_root(root, passphrase_text, argon2)
        state.kdf_memory_kib = argon2.memory_kib
        state.kdf_time_cost = argon2.time_cost
        state.kdf_parallelism = argon2.parallelism
    elif mode is SealMode.SHAMIR:
        mnemonics = shamir.split_root(root, shares=shares, threshold=threshold)
        state.shamir_shares, state.shamir_threshold = shares, threshold
        state.shamir_identifier = shamir.identifier_of(mnemonics[0])
    session.add(state)
    session.flush()
    keyring.unseal_with_root(root)
    version = current_kek_version(session, keyring)
    return InitResult(mode=mode, kek_version=version, shares=mnemonics)


def create_kek_version(session: Session, *, keyring: Keyring) -> int:
    """A new random KEK, wrapped by the root key, as the next version (not yet current)."""
    highest = session.scalar(select(func.max(KeyEncryptionKey.version))) or 0
    version = highest + 1
    wrapped = keyring.wrap_kek(version, aead.new_key())
    session.add(KeyEncryptionKey(version=version, state=KekState.DRAINING, wrapped=wrapped))
    session.flush()
    return version


def current_kek_version(session: Session, keyring: Keyring) -> int:
    """The KEK version new DEKs are wrapped under (version 1 is made on first use).

    The row is read FOR SHARE on PostgreSQL, so a rotation cannot demote it until the caller's
    transaction ends: no DEK is ever written under a version that rotation has finished."""
    for _ in range(3):
        stmt = select(KeyEncryptionKey.version).where(KeyEncryptionKey.state == KekState.CURRENT)
        version = session.scalar(stmt.with_for_update(read=True))
        if version is not None:
            return version
        if session.scalar(select(func.count()).select_from(KeyEncryptionKey)) == 0:
            version = create_kek_version(session, keyring=keyring)
            session.get_one(KeyEncryptionKey, version).state = KekState.CURRENT
            session.flush()
            return version
        # A rotation just swapped the current version under us: read again.
    raise Conflict("No current key version; retry.")
