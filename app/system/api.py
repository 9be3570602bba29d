"""System endpoints: health and the seal panic button (unseal comes with the keyring work)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.audit.events import AuditAction
from app.audit.log import record
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
