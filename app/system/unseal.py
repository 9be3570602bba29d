"""Seal status and unseal: open to anyone (an unsealing operator has no session), throttled."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.audit.events import AuditAction
from app.audit.log import record
from app.crypto.errors import UnsealRejected
from app.crypto.keyring import Keyring
from app.deps import AppSettings, DbSession
from app.errors import Throttled
from app.openapi import errors
from app.policy.deps import PUBLIC
from app.security.proxies import client_address

router = APIRouter(prefix="/api/v1/sys", tags=["system"])

PER_ADDRESS = (10, 60.0)  # attempts per window (seconds) from one address
GLOBAL = (30, 60.0)  # attempts per window from everyone: Argon2id costs 64 MiB each
_CONCURRENT = 2


class _Window:
    """A sliding-window attempt counter per key, in memory (one process)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count an attempt; when over the limit, the seconds until one is allowed again."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and now - hits[0] > self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                return math.ceil(hits[0] + self.seconds - now)
            hits.append(now)
            return None


class UnsealThrottle:
    """Per-address and global attempt limits, and at most two unseal attempts at once."""

    def __init__(self) -> None:
        self.per_address = _Window(*PER_ADDRESS)
        self.everyone = _Window(*GLOBAL)
        self.running = threading.BoundedSemaphore(_CONCURRENT)


class SealStatusOut(BaseModel):
    """Seal state; `progress` of `threshold` shares entered (1 for passphrase and dev)."""

    sealed: bool
    initialised: bool
    mode: str | None
    progress: int
    threshold: int
    shares: int | None


class UnsealIn(BaseModel):
    """One passphrase or one SLIP-39 share."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"key": "quiet-lantern-harbour-seventeen"}]}
    )

    key: str = Field(min_length=1, max_length=4096)


class UnsealOut(BaseModel):
    """Unseal progress after this key."""

    sealed: bool
    progress: int
    threshold: int


def _throttle(request: Request) -> UnsealThrottle:
    throttle = getattr(request.app.state, "unseal_throttle", None)
    if throttle is None:
        throttle = request.app.state.unseal_throttle = UnsealThrottle()
    assert isinstance(throttle, UnsealThrottle)  # noqa: S101 - only this module sets it
    return throttle


@router.get("/seal-status", response_model=SealStatusOut, dependencies=PUBLIC)
def seal_status(request: Request, db: DbSession) -> SealStatusOut:
    """Whether the service is sealed, its seal mode and unseal progress."""
    keyring: Keyring = request.app.state.keyring
    return SealStatusOut(**keyring.status(db).__dict__)


@router.post(
    "/unseal",
    response_model=UnsealOut,
    dependencies=PUBLIC,
    responses=errors(400, 409, 429),
)
def unseal(
    request: Request, body: UnsealIn, db: DbSession, settings: AppSettings
) -> UnsealOut | JSONResponse:
    """Submit a passphrase or one share; the service unseals once enough are in."""
    keyring: Keyring = request.app.state.keyring
    throttle = _throttle(request)
    address = client_address(request)
    wait = throttle.per_address.hit(address) or throttle.everyone.hit("*")
    if wait is not None:
        raise Throttled(retry_after=wait)
    if not throttle.running.acquire(blocking=False):
        raise Throttled("Another unseal attempt is running; try again in a moment.", retry_after=1)
    try:
        was_sealed = keyring.sealed
        status = keyring.submit_unseal_key(db, body.key, key_file=settings.key_file)
    except UnsealRejected as exc:
        # Answered, not raised, so the request's own transaction commits the audit entry (a
        # second transaction would wait on SQLite's write lock held by this one).
        record(db, AuditAction.UNSEAL_FAILED, outcome="denied")
        return JSONResponse(exc.body(), status_code=exc.status)
    finally:
        throttle.running.release()
    if was_sealed and not status.sealed:
        record(db, AuditAction.UNSEALED)
    return UnsealOut(sealed=status.sealed, progress=status.progress, threshold=status.threshold)
