"""System endpoints: health (and, with the keyring, seal status, seal and unseal)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.policy.deps import PUBLIC

router = APIRouter(prefix="/api/v1/sys", tags=["system"])


class Health(BaseModel):
    """Liveness and seal state; safe to expose to anyone."""

    status: str
    sealed: bool


@router.get("/health", response_model=Health, dependencies=PUBLIC)
def health(request: Request) -> Health:
    """Answers even while sealed, so a proxy or operator can tell the two states apart."""
    return Health(status="ok", sealed=request.app.state.keyring.sealed)
