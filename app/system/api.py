"""System endpoints: health and the seal panic button (unseal comes with the keyring work)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.deps import DbSession
from app.policy.deps import PUBLIC, Actor, require
from app.policy.permissions import Permission
from app.system.seal import seal_now

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
    seal_now(db, keyring=request.app.state.keyring, actor=actor)
    return SealOut(sealed=True)
