"""Interviews kept when the session lapsed: an intake form posted after its session ended is
not lost. What was typed is kept encrypted, bound to the account, until that account signs in
again and saves it, or for a day at most.

Who the account is when the session is gone: the browser still presents the lapsed session's
cookie, whose row (kept until its absolute expiry is purged) names the account and holds the
session's CSRF token. The submission is kept only when all of these hold: the row exists and
is a full (not half signed-in) cookie session that lapsed less than a day ago, the form
carries that session's CSRF token, the account is enabled and its role may still open cases.
The lapsed session is then ended, so one session keeps at most one interview. A browser with
no cookie, or a cookie naming no session (signed out, ended by an administrator or a seal,
purged), cannot be bound to anyone: nothing is kept and the page says so (docs/pages.md).

The key is derived from the root key (HKDF, its own purpose), never stored; each draft is
bound (AES-GCM associated data) to its account and its own id, so another account, or a
draft copied to another row, fails to decrypt. A sealed service keeps nothing (it answers
503 before any page runs).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.log import record
from app.background import Poller, background_sessions
from app.cases.models import InterviewDraft
from app.config import Settings
from app.crypto import aead
from app.crypto.envelope import OpenDataKey, decrypt_json, encrypt_json
from app.crypto.keyring import Keyring
from app.db import transaction
from app.deps import DbSession
from app.errors import NotAuthenticated, NotFound
from app.i18n import N_
from app.policy.deps import Actor, Requirement, bearer_token
from app.policy.permissions import Permission, Role, allows
from app.security import csrf, sessions
from app.security.clock import Clock
from app.security.models import AuthSession, CredentialKind, SessionStage
from app.users.models import User

log = logging.getLogger("haven.background")

# How long a kept interview waits for its account to sign in again.
LIFETIME = timedelta(days=1)
PURPOSE = "intake/interview-draft/v1"
FIELD = "interview_draft"
# Fixed id naming the derived key in the ciphertext's context (never a case's id).
KEY_ID = uuid.UUID("00000000-0000-0000-0000-0000000d7af7")
MAX_PER_ACCOUNT = 5


class NothingKept(NotAuthenticated):
    """The interview's session is gone and no account could be bound: nothing was kept."""

    message = N_(
        "You were signed out, so nothing of this form was kept. Sign in and type it again."
    )


@dataclass(frozen=True)
class Lapsed:
    """The account whose session lapsed while it typed an interview (already checked)."""

    user_id: uuid.UUID
    role: Role
    session_id: uuid.UUID

    @property
    def id(self) -> uuid.UUID:
        """The account's id (what the audit log records as the actor)."""
        return self.user_id


def _key(keyring: Keyring, user_id: uuid.UUID) -> OpenDataKey:
    """The drafts' key, with the account as the owner its ciphertexts are bound to."""
    cipher = aead.aesgcm(keyring.derive(PURPOSE))
    return OpenDataKey(key_id=KEY_ID, owner_id=user_id, cipher=cipher, keyring=keyring)


def lapsed_account(
    db: Session, *, token: str | None, submitted_csrf: str | None, now: datetime
) -> Lapsed | None:
    """The account a lapsed session cookie still names, when the draft may be bound to it."""
    if not token:
        return None
    row = db.scalars(
        select(AuthSession).where(AuthSession.token_hash == sessions.hash_token(token))
    ).first()
    if row is None or row.kind != CredentialKind.COOKIE.value:
        return None
    if row.stage != SessionStage.FULL.value or now - row.last_seen_at > LIFETIME:
        return None
    csrf.verify(row.csrf_token, submitted_csrf)  # a forged form keeps nothing: 403
    user = db.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if not allows(Role(user.role), Permission.CASE_CREATE):
        return None
    return Lapsed(user_id=user.id, role=Role(user.role), session_id=row.id)


def keep(
    db: Session, *, keyring: Keyring, lapsed: Lapsed, values: dict[str, Any], now: datetime
) -> uuid.UUID:
    """Keep what was typed for the account, end the lapsed session; the draft's opaque id."""
    purge(db, now=now)
    sessions.end(db, lapsed.session_id)
    older = list(
        db.scalars(
            select(InterviewDraft.id)
            .where(InterviewDraft.user_id == lapsed.user_id)
            .order_by(InterviewDraft.created_at.desc())
            .offset(MAX_PER_ACCOUNT - 1)
        )
    )
    if older:
        db.execute(delete(InterviewDraft).where(InterviewDraft.id.in_(older)))
    draft_id = uuid.uuid4()
    body = encrypt_json(_key(keyring, lapsed.user_id), field=FIELD, value=values, row_id=draft_id)
    db.add(
        InterviewDraft(
            id=draft_id,
            user_id=lapsed.user_id,
            created_at=now,
            expires_at=now + LIFETIME,
            body=body,
        )
    )
    db.flush()
    typed = sorted(k for k, v in values.items() if v not in ("", [], None))
    record(
        db, AuditAction.INTERVIEW_KEPT, by=lapsed, on=("interview_draft", draft_id), fields=typed
    )
    return draft_id


def _own(db: Session, *, actor: Actor, draft_id: uuid.UUID, now: datetime) -> InterviewDraft:
    draft = db.get(InterviewDraft, draft_id)
    if draft is None or draft.user_id != actor.id or draft.expires_at <= now:
        raise NotFound()
    return draft


def restore(
    db: Session, *, keyring: Keyring, actor: Actor, draft_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """What the actor typed into a kept interview (404 for another's, or one gone)."""
    draft = _own(db, actor=actor, draft_id=draft_id, now=now)
    values = decrypt_json(
        _key(keyring, actor.id), field=FIELD, ciphertext=draft.body, row_id=draft.id
    )
    record(db, AuditAction.INTERVIEW_RESTORED, by=actor, on=("interview_draft", draft.id))
    return dict(values) if isinstance(values, dict) else {}


def kept_for(db: Session, *, actor: Actor, now: datetime) -> list[tuple[uuid.UUID, datetime]]:
    """The actor's kept interviews (id and when kept), newest first; nothing decrypted."""
    rows = db.execute(
        select(InterviewDraft.id, InterviewDraft.created_at)
        .where(InterviewDraft.user_id == actor.id, InterviewDraft.expires_at > now)
        .order_by(InterviewDraft.created_at.desc())
    )
    return [(r[0], r[1]) for r in rows]


def discard(db: Session, *, user_id: uuid.UUID, draft_id: uuid.UUID) -> None:
    """Destroy one of the account's kept interviews (saved, or kept again); others' never."""
    db.execute(
        delete(InterviewDraft).where(
            InterviewDraft.id == draft_id, InterviewDraft.user_id == user_id
        )
    )


def purge(db: Session, *, now: datetime) -> int:
    """Destroy every kept interview older than a day; how many went."""
    result = db.execute(delete(InterviewDraft).where(InterviewDraft.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


class KeepsInterview(Requirement):
    """`require(permission)` for the intake form's POST, which also answers a lapsed
    session: the signed-in Actor, or the Lapsed account the interview will be kept for.
    Without a session that can be bound, NothingKept (401, the page says so)."""

    def __call__(  # type: ignore[override]
        self,
        request: Request,
        db: DbSession,
        submitted_csrf: Annotated[str | None, Depends(csrf.submitted_token)],
    ) -> Actor | Lapsed:
        try:
            return super().__call__(request, db, submitted_csrf)
        except NotAuthenticated:
            # Only a browser's form is kept: never for the API or a (bad) bearer token.
            if request.url.path.startswith("/api/") or bearer_token(request) is not None:
                raise
        token = request.cookies.get(sessions.cookie_name(request.app.state.settings))
        now = request.app.state.clock.now()
        found = lapsed_account(db, token=token, submitted_csrf=submitted_csrf, now=now)
        if found is None:
            raise NothingKept()
        return found


def purge_once(factory: sessionmaker[Session], *, clock: Clock) -> int:
    """One purge in its own transaction (it needs no key, so it runs while sealed too)."""
    with transaction(factory) as db:
        return purge(db, now=clock.now())


class DraftPurger(Poller):
    """A daemon thread that destroys kept interviews a day old, at start and then every
    poll interval (the movement purge's), so none outlives its day by more than that."""

    def __init__(self, factory: sessionmaker[Session], *, clock: Clock, interval: float) -> None:
        def step() -> str | None:
            gone = purge_once(factory, clock=clock)
            return f"destroyed {gone} kept interview(s) a day old" if gone else None

        super().__init__("interview-draft-purge", interval, step)
        self._first = step

    def _run(self) -> None:
        try:
            self._first()
        except Exception:  # the thread must outlive one failed step; logged
            log.exception("interview-draft-purge failed at start; will retry")
        super()._run()


def start_draft_purger(settings: Settings, clock: Clock) -> DraftPurger | None:
    """Start destroying expired kept interviews in the background (off when the movement
    purge's interval is 0, as in tests, which drive `purge` with a frozen clock)."""
    if settings.movement_purge_poll_seconds <= 0:
        return None
    factory = background_sessions(settings.database_url)
    purger = DraftPurger(factory, clock=clock, interval=settings.movement_purge_poll_seconds)
    purger.owns_engine_of(factory)
    purger.start()
    return purger
