"""My account, for every role: who I am, my language, my password, my sessions, new
recovery codes. The same services as `/api/v1/me/...`; nothing here decides access."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.events import AuditAction
from app.deps import AppSettings, DbSession
from app.errors import HavenError
from app.forms import REQUIRED
from app.i18n import LazyText, lazy
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.security import sessions
from app.security.models import CredentialKind
from app.users import service, signin
from app.users.auth_api import check_factors
from app.users.labels import role_label
from app.users.models import User, shown_name
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

FormStr = Annotated[str, Form(max_length=1024)]
PASSWORDS_DIFFER = lazy("The two passwords differ; type the same one twice.")
KINDS = {
    CredentialKind.COOKIE.value: lazy("Browser"),
    CredentialKind.BEARER.value: lazy("API token"),
}
PASSWORD_FIELDS = ("current_password", "code", "new_password", "new_password_again")


def _account_context(request: Request, db: Session, actor: Actor) -> dict[str, object]:
    user = db.get_one(User, actor.id)
    now = request.app.state.clock.now()
    rows = service.own_sessions(db, user_id=actor.id, now=now)
    return {
        "name": shown_name(user),
        "email": user.email,
        "role": role_label(user.role),
        "teams": [t.name for t in service.teams_of(db, user.id)],
        "needs_code": signin.needs_second_factor(user),
        "enrolled": user.totp_enrolled_at is not None,
        "codes_issued": user.recovery_codes_issued_at,
        "sessions": [
            {
                "kind": KINDS.get(r.kind, r.kind),
                "created_at": r.created_at,
                "last_seen_at": r.last_seen_at,
                "current": r.id == actor.session_id,
            }
            for r in rows
        ],
        "others": sum(1 for r in rows if r.id != actor.session_id),
    }


@router.get("/account")
def account_page(
    request: Request, db: DbSession, actor: Actor = require(Permission.SELF_READ)
) -> Response:
    """Who I am, my language, my password, my sessions, my recovery codes."""
    return render(request, "account/account.html", _account_context(request, db, actor))


@router.post("/account/password")
def change_password(
    *,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    current_password: FormStr = "",
    code: Annotated[str, Form(max_length=64)] = "",
    new_password: FormStr = "",
    new_password_again: FormStr = "",
    actor: Actor = require(Permission.SELF_UPDATE),
) -> Response:
    """Change my password (current one and code first, under the sign-in lockout, like
    POST /api/v1/me/password); every session ends, so I sign in again with the new one."""
    user = db.get_one(User, actor.id)
    errors: dict[str, LazyText] = {}
    if not new_password:
        errors["new_password"] = REQUIRED
    elif new_password != new_password_again:
        errors["new_password_again"] = PASSWORDS_DIFFER
    if not errors:
        try:
            check_factors(
                db,
                request,
                email=user.email,
                password=current_password,
                code=code or None,
                failure=AuditAction.PASSWORD_CHANGE_FAILED,
            )
        except HavenError as exc:  # counted and audited (the page's answer commits that)
            errors["current_password"] = LazyText(exc.message)
    if not errors:
        try:
            service.set_password(db, user=user, new=new_password, now=request.app.state.clock.now())
        except HavenError as exc:
            errors["new_password"] = LazyText(exc.extra["errors"][0]["message"])
    if errors:
        context = _account_context(request, db, actor) | {"errors": errors}
        return render(request, "account/account.html", context, 422)
    response = see_other("/login", done="password")
    sessions.clear_cookie(response, settings)
    return response


@router.post("/account/sessions/end-others")
def end_other_sessions(db: DbSession, actor: Actor = require(Permission.SELF_UPDATE)) -> Response:
    """Sign out everywhere else: every other session and API token of my account ends."""
    service.end_other_sessions(db, actor=actor)
    return see_other("/account", done="sessions_ended")


@router.get("/account/recovery-codes")
def recovery_codes_page(
    request: Request, actor: Actor = require(Permission.SELF_UPDATE, reauth=True)
) -> Response:
    """After re-authentication: make new recovery codes (the old ones stop working)."""
    return render(request, "account/recovery_codes.html")


@router.post("/account/recovery-codes")
def recovery_codes_submit(
    request: Request, db: DbSession, actor: Actor = require(Permission.SELF_UPDATE, reauth=True)
) -> Response:
    """Ten new recovery codes, shown on this answer only (the same service as the API)."""
    now = request.app.state.clock.now()
    codes = service.regenerate_recovery_codes(db, actor=actor, now=now)
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next_page": "/account"})
