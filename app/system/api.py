"""System endpoints: health and the seal panic button (unseal comes with the keyring work)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.crypto.status import key_status
from app.db import database_answers
from app.deps import DbSession
from app.policy.deps import PUBLIC, Actor, require
from app.policy.permissions import Permission
from app.system.seal import seal_now

router = APIRouter(prefix="/api/v1/sys", tags=["system"])


class Health(BaseModel):
    """Liveness, seal state and whether the database answers; safe to expose to anyone.
    `status` is "ok" or names what is wrong ("database_unavailable", answered with 503)."""

    status: str
    sealed: bool
    database: str


class SealOut(BaseModel):
    """The seal state after the request."""

    sealed: bool


@router.get(
    "/health",
    response_model=Health,
    dependencies=PUBLIC,
    responses={503: {"model": Health, "description": "The database does not answer."}},
)
def health(request: Request, response: Response) -> Health:
    """Answers even while sealed or while the database is out of reach, so a proxy or an
    operator can tell those states apart (503 while the database does not answer)."""
    sealed = request.app.state.keyring.sealed
    if database_answers(request.app.state.engine):
        return Health(status="ok", sealed=sealed, database="ok")
    response.status_code = 503
    return Health(status="database_unavailable", sealed=sealed, database="unavailable")


@router.post("/seal", response_model=SealOut)
def seal(request: Request, db: DbSession, actor: Actor = require(Permission.SYS_SEAL)) -> SealOut:
    """Drop the root key from memory and end every session and token, at once.

    No re-authentication is asked: this is the panic button."""
    seal_now(db, keyring=request.app.state.keyring, actor=actor)
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
