"""System endpoints: health and the seal panic button (unseal comes with the keyring work)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.audit.events import AuditAction
from app.audit.log import record
from app.db import after_commit, database_answers
from app.deps import DbSession
from app.policy.deps import PUBLIC, Actor, require
from app.policy.permissions import Permission

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
    record(db, AuditAction.SEALED, by=actor)
    # Sealed once the entry commits, before the answer leaves: the seal hooks end every
    # session in a transaction of their own, which on SQLite needs the write lock this
    # request holds until then. A failed commit leaves the service unsealed, and says so.
    after_commit(db, request.app.state.keyring.seal)
    return SealOut(sealed=True)
