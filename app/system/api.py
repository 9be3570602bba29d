"""System endpoints: health and the seal panic button (unseal comes with the keyring work)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.audit.events import AuditAction
from app.audit.log import record
from app.crypto.status import key_status
from app.db import after_commit
from app.deps import DbSession
from app.policy.deps import PUBLIC, Actor, require
from app.policy.permissions import Permission

router = APIRouter(prefix="/api/v1/sys", tags=["system"])


class Health(BaseModel):
    """Liveness and seal state; safe to expose to anyone."""

    status: str
    sealed: bool


class SealOut(BaseModel):
    """The seal state after the request."""

    sealed: bool


@router.get("/health", response_model=Health, dependencies=PUBLIC)
def health(request: Request) -> Health:
    """Answers even while sealed, so a proxy or operator can tell the two states apart."""
    return Health(status="ok", sealed=request.app.state.keyring.sealed)


@router.post("/seal", response_model=SealOut)
def seal(request: Request, db: DbSession, actor: Actor = require(Permission.SYS_SEAL)) -> SealOut:
    """Drop the root key from memory and end every session and token, at once.

    No re-authentication is asked: this is the panic button."""
    record(db, AuditAction.SEALED, by=actor)
    # Sealed once the entry commits, before the answer leaves: the seal hooks end every
    # session in a transaction of their own, which on SQLite needs the write lock this
    # request holds until then. A failed commit leaves the service unsealed, and says so.
    after_commit(db, request.app.state.keyring.seal)
    return SealOut(sealed=True)


class KekVersionOut(BaseModel):
    """One KEK version: state, dates, and how many live data keys it wraps."""

    version: int
    state: str
    created_at: datetime
    retired_at: datetime | None
    data_keys: int


class KeysOut(BaseModel):
    """The keyring as metadata (never a key): root key protection, KEK versions, data keys
    destroyed (crypto-shredded), the last rotation; `haven keys rotate` changes them."""

    mode: str | None
    current_version: int | None
    rotation_unfinished: bool
    versions: list[KekVersionOut]
    destroyed_data_keys: int
    last_rotation: datetime | None


@router.get("/keys", response_model=KeysOut)
def keys(db: DbSession, actor: Actor = require(Permission.SYS_KEYS)) -> KeysOut:
    """The keys' state for the administrator (the page /admin/keys shows the same)."""
    found = key_status(db)
    return KeysOut(
        mode=found.mode,
        current_version=found.current,
        rotation_unfinished=found.rotation_unfinished,
        versions=[KekVersionOut(**vars(v)) for v in found.versions],
        destroyed_data_keys=found.destroyed_data_keys,
        last_rotation=found.last_rotation,
    )
