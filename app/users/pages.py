"""Sign-in pages: password, TOTP code, first-time TOTP enrolment, recovery codes, sign-out.

Server-rendered, no JavaScript. A pending session (password checked, code not yet) only
reaches the next step's page; every completed sign-in gets a brand-new token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.audit.events import AuditAction
from app.audit.log import record
from app.config import Settings
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret, seal_totp_secret
from app.deps import AppSettings, DbSession
from app.errors import HavenError
from app.i18n import LazyText, lazy
from app.policy.deps import PUBLIC, Actor, require, session_account
from app.policy.permissions import Permission
from app.security import csrf, sessions, totp
from app.security.agents import device_summary
from app.security.form_token import PreSessionForm
from app.security.models import AuthSession, CredentialKind, SessionStage
from app.users import service as user_service
from app.users import signin
from app.users.auth_api import client_address, prove_again
from app.users.labels import role_label
from app.users.models import User
from app.validation import NoNul
from app.web import forget_resume, home_of, render, resume_target, safe_return_path, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

LOGIN_FORM = PreSessionForm(cookie="haven_login", purpose="login-form-csrf")
FormStr = Annotated[str, Form(max_length=1024)]
FORM_EXPIRED = lazy("The form expired. Please try again.")
PASSWORDS_DIFFER = lazy("The two passwords differ; type the same one twice.")


def _pending(request: Request, db: Session, stage: SessionStage) -> tuple[AuthSession, User] | None:
    settings = request.app.state.settings
    token = request.cookies.get(sessions.cookie_name(settings))
    if not token:
        return None
    found = session_account(request, db, token)
    if found is None or found[0].kind != CredentialKind.COOKIE.value:
        return None
    return found if found[0].stage == stage.value else None


def _login_form(
    request: Request,
    settings: Settings,
    *,
    status: int = 200,
    email: str = "",
    errors: dict[str, LazyText] | None = None,
) -> Response:
    token = LOGIN_FORM.token_for(request)
    context: dict[str, object] = {"email": email, "csrf_token": token, "errors": errors or {}}
    response = render(request, "auth/login.html", context, status)
    LOGIN_FORM.attach(response, token, settings)
    return response


# The page of each unfinished sign-in step: a browser sent to /login in the middle of one
# (its code, its enrolment, its new password) goes back to where it stopped.
STEP_PAGES = {
    SessionStage.TOTP.value: "/login/totp",
    SessionStage.ENROL.value: "/login/enrol",
    SessionStage.NEW_PASSWORD.value: "/login/new-password",
}


@router.get("/login", dependencies=PUBLIC)
def login_page(request: Request, db: DbSession, settings: AppSettings) -> Response:
    """The sign-in form (or the step a sign-in under way stopped at)."""
    token = request.cookies.get(sessions.cookie_name(settings))
    found = session_account(request, db, token) if token else None
    if found is not None and found[0].kind == CredentialKind.COOKIE.value:
        step = STEP_PAGES.get(found[0].stage)
        if step is not None:
            return see_other(step)
    return _login_form(request, settings)


@router.post("/login", dependencies=PUBLIC)
def login_submit(
    *,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=1024), NoNul],
    password: FormStr,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Check the password, then send the browser to the code or enrolment step."""
    if not LOGIN_FORM.accepts(request, csrf_token):
        return _login_form(
            request, settings, status=403, email=email, errors={"email": FORM_EXPIRED}
        )
    now = request.app.state.clock.now()
    try:
        user = signin.password_step(
            db,
            email=email,
            password=password,
            address=client_address(request),
            now=now,
            keyring=request.app.state.keyring,
        )
    except HavenError as exc:  # the failure's count and audit entry are kept (a 200 commits)
        errors = {"password": LazyText(exc.message)}
        return _login_form(request, settings, status=exc.status, email=email, errors=errors)
    _end_presented_session(request, db, settings)
    if signin.needs_enrolment(user):
        stage, target = SessionStage.ENROL, "/login/enrol"
    elif signin.needs_second_factor(user):
        stage, target = SessionStage.TOTP, "/login/totp"
    elif signin.one_time_step(db, user=user, now=now):
        stage, target = SessionStage.NEW_PASSWORD, "/login/new-password"
    else:
        signin.succeeded(db, user=user, method="password")
        stage, target = SessionStage.FULL, resume_target(request, settings)
    issued = sessions.create(
        db,
        user_id=user.id,
        kind=CredentialKind.COOKIE,
        stage=stage,
        now=now,
        settings=settings,
        agent=device_summary(request.headers.get("user-agent")),
    )
    response = see_other(target)
    if stage is SessionStage.FULL:
        forget_resume(response, settings)
    sessions.set_cookie(response, issued.token, settings)
    return response


def _end_presented_session(request: Request, db: Session, settings: Settings) -> None:
    # Whatever session the browser held before is ended, never upgraded (fixation defence).
    token = request.cookies.get(sessions.cookie_name(settings))
    if token:
        row = sessions.resolve(db, token, now=request.app.state.clock.now(), settings=settings)
        if row is not None:
            sessions.end(db, row.id)


@router.get("/login/totp", dependencies=PUBLIC)
def totp_page(request: Request, db: DbSession) -> Response:
    """The code step."""
    pending = _pending(request, db, SessionStage.TOTP)
    if pending is None:
        return see_other("/login")
    return render(request, "auth/totp.html", {"csrf_token": pending[0].csrf_token})


def _second_step(
    request: Request,
    db: Session,
    *,
    settings: Settings,
    stage: SessionStage,
    code: str,
    submitted_csrf: str,
) -> Response:
    pending = _pending(request, db, stage)
    if pending is None:
        return see_other("/login")
    row, user = pending
    csrf.verify(row.csrf_token, submitted_csrf)
    now = request.app.state.clock.now()
    try:
        signin.second_factor(
            db,
            user=user,
            code=code,
            address=client_address(request),
            now=now,
            keyring=request.app.state.keyring,
            allow_recovery=stage is SessionStage.TOTP,
        )
    except HavenError as exc:  # the failure's count and audit entry are kept (a page commits)
        context = {"csrf_token": row.csrf_token, "errors": {"code": LazyText(exc.message)}}
        if stage is SessionStage.TOTP:  # the key is shown again only while enrolling
            return render(request, "auth/totp.html", context, exc.status)
        enrol = _enrol_context(user, request.app.state.keyring)
        return render(request, "auth/enrol.html", context | enrol, exc.status)
    if signin.one_time_step(db, user=user, now=now):  # raises when used before
        next_page, next_stage = "/login/new-password", SessionStage.NEW_PASSWORD
    else:
        signin.succeeded(db, user=user, method="totp")
        next_page, next_stage = resume_target(request, settings), SessionStage.FULL
    issued = sessions.rotate(db, old=row, now=now, settings=settings, stage=next_stage)
    if user.recovery_codes_issued_at is None:
        codes = signin.issue_recovery_codes(db, user=user, now=now)
        context = {"codes": codes, "next_page": next_page}
        response = render(request, "auth/recovery_codes.html", context)
    else:
        response = see_other(next_page)
    if next_stage is SessionStage.FULL:
        forget_resume(response, settings)
    sessions.set_cookie(response, issued.token, settings)
    return response


def _code_step(stage: SessionStage, doc: str) -> Callable[..., Response]:
    """The POST of a code step (the TOTP code, or enrolment's first code)."""

    def submit(
        request: Request,
        db: DbSession,
        settings: AppSettings,
        code: FormStr,
        csrf_token: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        return _second_step(
            request, db, settings=settings, stage=stage, code=code, submitted_csrf=csrf_token
        )

    submit.__doc__ = doc
    return submit


totp_submit = router.post("/login/totp", dependencies=PUBLIC)(
    _code_step(SessionStage.TOTP, "Check the code (or a recovery code) and finish signing in.")
)


def _enrol_context(user: User, keyring: Keyring) -> dict[str, object]:
    if user.totp_secret is None:
        return {}
    secret = open_totp_secret(keyring, user_id=user.id, sealed=user.totp_secret)
    uri = totp.provisioning_uri(secret, user.email)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"qr_data_uri": totp.qr_svg_data_uri(uri), "secret_grouped": grouped}


@router.get("/login/enrol", dependencies=PUBLIC)
def enrol_page(request: Request, db: DbSession) -> Response:
    """First sign-in: the TOTP key as text and as a QR code."""
    pending = _pending(request, db, SessionStage.ENROL)
    if pending is None:
        return see_other("/login")
    row, user = pending
    keyring = request.app.state.keyring
    if user.totp_secret is None:
        user.totp_secret = seal_totp_secret(keyring, user_id=user.id, secret=totp.new_secret())
    context: dict[str, object] = {"csrf_token": row.csrf_token}
    return render(request, "auth/enrol.html", context | _enrol_context(user, keyring))


enrol_submit = router.post("/login/enrol", dependencies=PUBLIC)(
    _code_step(
        SessionStage.ENROL,
        "Confirm enrolment with a first code; the recovery codes are shown once.",
    )
)


@router.get("/login/new-password", dependencies=PUBLIC)
def new_password_page(request: Request, db: DbSession) -> Response:
    """First sign-in with a one-time password: choose one's own."""
    pending = _pending(request, db, SessionStage.NEW_PASSWORD)
    if pending is None:
        return see_other("/login")
    return render(request, "auth/new_password.html", {"csrf_token": pending[0].csrf_token})


@router.post("/login/new-password", dependencies=PUBLIC)
def new_password_submit(
    *,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    new_password: FormStr,
    new_password_again: FormStr,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Replace the one-time password and finish signing in with a new session."""
    pending = _pending(request, db, SessionStage.NEW_PASSWORD)
    if pending is None:
        return see_other("/login")
    row, user = pending
    csrf.verify(row.csrf_token, csrf_token)
    now = request.app.state.clock.now()
    errors: dict[str, LazyText] = {}
    if new_password != new_password_again:
        errors["new_password_again"] = PASSWORDS_DIFFER
    else:
        try:
            user_service.set_password(db, user=user, new=new_password, now=now)
        except HavenError as exc:
            errors["new_password"] = LazyText(exc.extra["errors"][0]["message"])
    if errors:
        context = {"csrf_token": row.csrf_token, "errors": errors}
        return render(request, "auth/new_password.html", context, 422)
    signin.succeeded(db, user=user, method="one_time_replaced")
    issued = sessions.create(
        db,
        user_id=user.id,
        kind=CredentialKind.COOKIE,
        stage=SessionStage.FULL,
        now=now,
        settings=settings,
        agent=row.agent,
    )
    response = see_other(resume_target(request, settings))
    forget_resume(response, settings)
    sessions.set_cookie(response, issued.token, settings)
    return response


@router.post("/logout", dependencies=PUBLIC)
def logout(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """End the session (CSRF-checked) and forget the cookie."""
    token = request.cookies.get(sessions.cookie_name(settings))
    if token:
        found = session_account(request, db, token)
        if found is not None:
            row, user = found
            csrf.verify(row.csrf_token, csrf_token)
            sessions.end(db, row.id)
            record(db, AuditAction.SIGN_OUT, by=user, on=("session", row.id))
    response = see_other("/login")
    sessions.clear_cookie(response, settings)
    return response


@router.get("/account/reauth")
def reauth_page(
    request: Request, db: DbSession, actor: Actor = require(Permission.SELF_READ), next: str = "/"
) -> Response:
    """Prove password and code again before a dangerous act (export, erasure, break-glass,
    accounts); then back to the page that asked."""
    context = {"next": safe_return_path(next), "needs_code": _needs_code(db, actor)}
    return render(request, "auth/reauth.html", context)


def _needs_code(db: Session, actor: Actor) -> bool:
    return signin.needs_second_factor(db.get_one(User, actor.id))


@router.post("/account/reauth")
def reauth_submit(
    *,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    password: FormStr,
    code: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2_000)] = "/",
    actor: Actor = require(Permission.SELF_READ),
) -> Response:
    """Check password and code; 303 back to `next` (a path on this site), or the form again
    with the error beside its field."""
    back = safe_return_path(next)
    response = see_other(back)
    try:
        prove_again(
            db,
            request,
            response,
            actor=actor,
            password=password,
            code=code or None,
            settings=settings,
        )
    except HavenError as exc:  # counted and audited like a failed sign-in (a page commits)
        context = {
            "next": back,
            "needs_code": _needs_code(db, actor),
            "errors": {"password": LazyText(exc.message)},
        }
        return render(request, "auth/reauth.html", context, exc.status)
    return response


@router.get("/")
def home(request: Request, db: DbSession, actor: Actor = require(Permission.SELF_READ)) -> Response:
    """Each role's day starts on its own page (app.web.HOME); signed out, `/login`. A role
    whose page this installation does not serve yet gets the start page with its menu."""
    target = home_of(request.app, actor.role)
    if target is not None:
        return see_other(target)
    user = db.get(User, actor.id)
    row = db.get(AuthSession, actor.session_id)
    assert user is not None  # noqa: S101 - resolved by require()
    assert row is not None  # noqa: S101 - resolved by require()
    context: dict[str, object] = {
        "email": user.email,
        "role": role_label(user.role),
        "csrf_token": row.csrf_token,
    }
    return render(request, "auth/signed_in.html", context)
