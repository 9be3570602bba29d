"""Key ceremonies: change the unseal passphrase, and rotate the root key itself (which is
also how Shamir shares are re-split: new K of N, and the old shares open nothing any more).

Changing the passphrase re-wraps the same root key: quick, for a holder who leaves on good
terms or a scheduled change. It does not help against a passphrase that leaked together with
a copy of the database (that copy still opens with the old one): then rotate the root.

Rotating the root key changes everything derived from it, in ONE transaction (so an
interrupted rotation changed nothing: run it again, the old secret still works):

1. every case's blind-index rows, recomputed from its decrypted fields under the new keys
   (rows of erased cases, whose key is destroyed, are dropped: they matched nothing);
2. every account's TOTP secret, re-encrypted under the key derived from the new root;
3. every live KEK version, re-wrapped under the new root's wrapping key (DEKs, and so all
   case data and attachments, stay as they are: they hang under the KEKs);
4. the audit checkpoint key: the old public key is kept (`retired_verifier_keys`), so the
   checkpoints it signed still verify;
5. the check value and the new protection: a passphrase, or a fresh set of shares.

Sign-in and intake throttle rows keyed by address HMACs are left to expire (their windows
are minutes). Running processes hold the old root: the ceremony first records a seal, which
every process follows (app/system/seal_follower.py) before any row changes, and each must be
unsealed with the new secret afterwards. Every ceremony is audited."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoints import verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.config import SealMode
from app.crypto import aead, passphrase, shamir
from app.crypto.errors import KeyUnavailable, UnsealRejected
from app.crypto.keyring import ROOT_KEY_BYTES, Keyring, check_value_for, kek_aad
from app.crypto.models import KeyEncryptionKey, KeyringState, RetiredVerifierKey
from app.crypto.system_keys import open_totp_secret, seal_totp_secret
from app.db import transaction

Progress = Callable[[int, int], None]


class CeremonyRefused(Exception):
    """A ceremony that cannot run here, with a message for the operator."""


def _state(session: Session) -> KeyringState:
    state = session.get(KeyringState, 1, with_for_update=True)
    if state is None:
        raise CeremonyRefused("No keyring: run `haven init` first.")
    return state


def _params(state: KeyringState) -> passphrase.Argon2Params:
    if state.kdf_memory_kib is None or state.kdf_time_cost is None or state.kdf_parallelism is None:
        raise KeyUnavailable("the keyring state has no Argon2 parameters")
    return passphrase.Argon2Params(state.kdf_memory_kib, state.kdf_time_cost, state.kdf_parallelism)


def change_passphrase(
    factory: sessionmaker[Session],
    *,
    current: str,
    new: str,
    argon2: passphrase.Argon2Params = passphrase.DEFAULT_PARAMS,
) -> None:
    """Re-wrap the root key under a new passphrase (the current one must open it)."""
    with transaction(factory) as session:
        state = _state(session)
        if state.mode != SealMode.PASSPHRASE:
            raise CeremonyRefused(
                f"This installation unseals with {state.mode}, not a passphrase: use "
                "`haven keys rotate-root --seal-mode passphrase` to change to one."
            )
        if state.wrapped_root is None or state.kdf_salt is None:
            raise KeyUnavailable("the keyring state has no wrapped root key")
        try:
            root = passphrase.unwrap_root(
                state.wrapped_root, current, state.kdf_salt, _params(state)
            )
        except aead.DecryptionFailed:
            raise UnsealRejected("The current passphrase is wrong.") from None
        if not hmac.compare_digest(check_value_for(root), state.check_value):
            raise UnsealRejected("This key does not belong to this installation.")
        state.kdf_salt, state.wrapped_root = passphrase.wrap_root(root, new, argon2)
        state.kdf_memory_kib = argon2.memory_kib
        state.kdf_time_cost = argon2.time_cost
        state.kdf_parallelism = argon2.parallelism
        record(session, AuditAction.PASSPHRASE_CHANGED, on=("keyring", "1"))


@dataclass(frozen=True)
class NewProtection:
    """How the new root key will be protected."""

    mode: SealMode
    passphrase_text: str | None = field(default=None, repr=False)
    shares: int = 3
    threshold: int = 2
    argon2: passphrase.Argon2Params = passphrase.DEFAULT_PARAMS


@dataclass
class RootRotationReport:
    """What a root rotation did; `shares` are shown once and stored nowhere."""

    cases: int = 0
    unreadable_cases: int = 0
    accounts: int = 0
    keks: int = 0
    shares: list[str] = field(default_factory=list, repr=False)


def seal_everywhere(factory: sessionmaker[Session], *, reason: str) -> None:
    """Record a seal: every running process follows it (app/system/seal_follower.py)."""
    with transaction(factory) as session:
        record(session, AuditAction.SEALED, reason=reason)


class _Counter:
    """Progress across the steps of a rotation."""

    def __init__(self, total: int, report: Progress | None) -> None:
        self.done, self.total = 0, total
        self._report = report or (lambda _done, _total: None)
        self._report(0, total)

    def step(self) -> None:
        self.done += 1
        self._report(self.done, self.total)


def _reindex_cases(
    session: Session, old: Keyring, new: Keyring, count: _Counter
) -> tuple[int, int]:
    """Every case's blind-index rows under the new keys: (reindexed, unreadable)."""
    from app.cases.models import Case, CaseIndex
    from app.cases.record import case_key, read, reindex

    done = unreadable = 0
    for case in session.scalars(select(Case).order_by(Case.id)).all():
        try:
            fields = read(case, case_key(session, keyring=old, case=case))
        except KeyUnavailable:
            # Erased (its key destroyed): its rows matched nothing and never will.
            session.execute(delete(CaseIndex).where(CaseIndex.case_id == case.id))
            unreadable += 1
        except aead.DecryptionFailed:
            # Damage, not erasure: stop before anything changes (the index would be lost).
            raise CeremonyRefused(
                f"Case {case.case_code} does not decrypt (damaged data): nothing was changed. "
                "Restore it from a backup or erase it, then rotate again."
            ) from None
        else:
            reindex(session, keyring=new, case_id=case.id, fields=fields)
            done += 1
        count.step()
    return done, unreadable


def _reencrypt_totp(session: Session, old: Keyring, new: Keyring, count: _Counter) -> int:
    from app.users.models import User

    users = session.scalars(
        select(User).where(User.totp_secret.is_not(None)).order_by(User.id).with_for_update()
    ).all()
    for user in users:
        if user.totp_secret is not None:
            secret = open_totp_secret(old, user_id=user.id, sealed=user.totp_secret)
            user.totp_secret = seal_totp_secret(new, user_id=user.id, secret=secret)
        count.step()
    return len(users)


def _rewrap_keks(keks: list[KeyEncryptionKey], old: Keyring, new: Keyring, count: _Counter) -> int:
    unwrapping = aead.aesgcm(old.derive("kek-wrap"))
    for kek in keks:
        if kek.wrapped is None or kek.wrapped[0] != aead.FORMAT_AES256GCM_V1:
            raise KeyUnavailable(f"KEK version {kek.version} has an unknown format")
        raw = aead.unseal(unwrapping, kek.wrapped[1:], kek_aad(kek.version), what="KEK")
        kek.wrapped = new.wrap_kek(kek.version, raw)
        count.step()
    return len(keks)


def rotate_root(
    factory: sessionmaker[Session],
    *,
    old: Keyring,
    protection: NewProtection,
    origin: str,
    on_progress: Progress | None = None,
) -> RootRotationReport:
    """Replace the root key (see the module's docstring). `old` is unsealed with the current
    root; both keyrings are sealed afterwards. Returns the new shares in shamir mode."""
    from app.cases.models import Case
    from app.users.models import User

    if protection.mode is SealMode.DEV:
        raise CeremonyRefused("Dev mode keeps its root in a file: nothing to rotate for real.")
    if protection.mode is SealMode.PASSPHRASE and not protection.passphrase_text:
        raise ValueError("passphrase mode needs a passphrase")
    new_root = secrets.token_bytes(ROOT_KEY_BYTES)
    new = Keyring()
    new.unseal_with_root(new_root)
    report = RootRotationReport()
    try:
        with transaction(factory) as session:
            state = _state(session)
            if state.mode == SealMode.DEV:
                raise CeremonyRefused("Dev mode keeps its root in a file: nothing to rotate.")
            if not hmac.compare_digest(state.check_value, old.check_value()):
                raise UnsealRejected("The keyring in hand is not this installation's.")
            keks = list(
                session.scalars(
                    select(KeyEncryptionKey)
                    .where(KeyEncryptionKey.wrapped.is_not(None))
                    .order_by(KeyEncryptionKey.version)
                    .with_for_update()
                ).all()
            )
            cases = session.scalar(select(func.count()).select_from(Case)) or 0
            accounts = session.scalar(
                select(func.count()).select_from(User).where(User.totp_secret.is_not(None))
            )
            count = _Counter(cases + (accounts or 0) + len(keks), on_progress)
            # Blind indexes first, while the KEK rows still open under the old root.
            report.cases, report.unreadable_cases = _reindex_cases(session, old, new, count)
            report.accounts = _reencrypt_totp(session, old, new, count)
            report.keks = _rewrap_keks(keks, old, new, count)
            session.add(RetiredVerifierKey(key=verifier_key(old, origin).encode()))
            report.shares = _protect(state, new_root, protection)
            session.flush()
            record(
                session, AuditAction.ROOT_ROTATED, on=("keyring", "1"), reason=protection.mode.value
            )
    finally:
        new.seal()
        old.seal()
    return report


def _protect(state: KeyringState, root: bytes, protection: NewProtection) -> list[str]:
    state.mode = protection.mode.value
    state.check_value = check_value_for(root)
    state.kdf_salt = state.wrapped_root = None
    state.kdf_memory_kib = state.kdf_time_cost = state.kdf_parallelism = None
    state.shamir_shares = state.shamir_threshold = state.shamir_identifier = None
    if protection.mode is SealMode.PASSPHRASE:
        assert protection.passphrase_text is not None  # noqa: S101 - checked on entry
        state.kdf_salt, state.wrapped_root = passphrase.wrap_root(
            root, protection.passphrase_text, protection.argon2
        )
        state.kdf_memory_kib = protection.argon2.memory_kib
        state.kdf_time_cost = protection.argon2.time_cost
        state.kdf_parallelism = protection.argon2.parallelism
        return []
    mnemonics = shamir.split_root(root, shares=protection.shares, threshold=protection.threshold)
    state.shamir_shares, state.shamir_threshold = protection.shares, protection.threshold
    state.shamir_identifier = shamir.identifier_of(mnemonics[0])
    return mnemonics
