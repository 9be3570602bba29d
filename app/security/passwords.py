"""Password hashing (Argon2id via argon2-cffi) and the rules a new password must meet.

Hashing costs tens of milliseconds of CPU and memory on purpose: callers run it off the event
loop (sync routes run in the threadpool, or `run_in_threadpool`). At most `MAX_CONCURRENT`
hashes are computed at once in a process: each takes 64 MiB, so sixteen sign-ins at the same
moment would otherwise take a gigabyte (measured by `make bench`), and a machine's cores are
busy with two anyway; the others wait their turn.
"""

from __future__ import annotations

import contextlib
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.i18n import N_

MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing a megabyte "password" would be a cheap denial of service
# Argon2 computations at once per process (each holds memory_cost_kib of memory while it runs).
MAX_CONCURRENT = 2
_turns = threading.BoundedSemaphore(MAX_CONCURRENT)


@dataclass(frozen=True)
class HashParams:
    """Argon2id cost parameters; the one place they are set."""

    time_cost: int
    memory_cost_kib: int
    parallelism: int


# RFC 9106's second recommended option (t=3, m=64 MiB, p=4): about 0.1 s on one core.
DEFAULT_PARAMS = HashParams(time_cost=3, memory_cost_kib=64 * 1024, parallelism=4)

_state: dict[str, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    if "hasher" not in _state:
        use_params(DEFAULT_PARAMS)
    return _state["hasher"]


def use_params(params: HashParams) -> None:
    """Switch the hashing parameters (existing hashes are upgraded at their next sign-in)."""
    _state["hasher"] = PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
    )
    _dummy_hash.cache_clear()


def hash_password(password: str) -> str:
    """An Argon2id hash of password, with a fresh salt."""
    with _turns:
        return _hasher().hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so an unknown e-mail costs the same
    # time as a wrong password.
    return _hasher().hash("haven-dummy-password-for-timing")


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check password; returns (matches, new hash when the parameters changed)."""
    hasher = _hasher()
    if stored_hash is None or len(password) > MAX_LENGTH:
        dummy = _dummy_hash()
        with _turns, contextlib.suppress(VerificationError):
            hasher.verify(dummy, password[:MAX_LENGTH])
        return False, None
    try:
        with _turns:
            hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if hasher.check_needs_rehash(stored_hash):
        return True, hash_password(password)
    return True, None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower-cased)."""
    text = resources.files("app").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password).casefold()


def _core(value: str) -> str:
    # "Password2024!" and "!!qwertyuiop" are the list entry dressed up: strip the dressing.
    return value.strip("0123456789!@#$%^&*()_-+=.,?~ ")


def _is_common(norm: str) -> bool:
    common = common_passwords()
    core = _core(norm)
    if norm in common or core in common:
        return True
    half = len(core) // 2
    return (
        bool(core) and len(core) % 2 == 0 and core[:half] == core[half:] and core[:half] in common
    )


# Why a password is refused (shown beside the field, translated on pages).
TOO_SHORT_OR_LONG = N_("must be 12 to 1024 characters long")
TOO_COMMON = N_("is too common; choose a longer phrase of unrelated words")
TOO_FEW_CHARACTERS = N_("repeats too few characters")
HOLDS_ACCOUNT_NAME = N_("must not contain the account name")
assert (MIN_LENGTH, MAX_LENGTH) == (12, 1024), "TOO_SHORT_OR_LONG names the limits"  # noqa: S101


def weakness(password: str, *, email: str = "") -> str | None:
    """Why password is not acceptable, or None when it is."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return TOO_SHORT_OR_LONG
    norm = _normalise(password)
    local = _normalise(email.partition("@")[0])
    if _is_common(norm):
        return TOO_COMMON
    if len(set(norm)) < 5:
        return TOO_FEW_CHARACTERS
    if len(local) >= 4 and local in norm:
        return HOLDS_ACCOUNT_NAME
    return None
