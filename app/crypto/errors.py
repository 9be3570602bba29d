"""Errors of the encryption layer that a client or operator may see (no key material)."""

from __future__ import annotations

from app.errors import HavenError


class UnsealRejected(HavenError):
    """A passphrase or share that does not unseal; the message says why, safely."""

    status, code, message = 400, "unseal_rejected", "The key was rejected."


class KeyringNotInitialised(HavenError):
    """No keyring exists yet: `haven init` has not run against this database."""

    status, code, message = 409, "not_initialised", "No keyring: run `haven init` first."


class KeyUnavailable(Exception):
    """A key that should exist is missing, retired or destroyed (e.g. a shredded case)."""
