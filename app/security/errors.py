"""Errors of sign-in and access checks (HavenError subclasses: JSON under /api, pages elsewhere)."""

from __future__ import annotations

from app.errors import HavenError
from app.i18n import N_


class InvalidCredentials(HavenError):
    """The one answer for unknown account, wrong password, wrong code or disabled account."""

    status, code = 401, "invalid_credentials"
    message = N_("The e-mail, password or code is not right.")


class CsrfFailed(HavenError):
    status, code, message = 403, "csrf_failed", N_("The form expired or did not come from Haven.")
    api_message = (
        "A call made with the session cookie must send the session's CSRF token in the "
        "X-CSRF-Token header (GET /api/v1/me gives it), or use a bearer token."
    )


class ReauthRequired(HavenError):
    # A page's GET goes to the re-authentication form and back (app/errors.py); a form sent
    # after the proof went stale lands here, and the person reads what to do.
    status, code = 403, "reauth_required"
    message = N_(
        "For this, confirm your password and code again: open the page once more and you "
        "will be asked for them."
    )
    api_message = "Confirm your password and code again (POST /api/v1/auth/reauth) first."


class WeakPassword(HavenError):
    """422 naming the password field."""

    status, code = 422, "invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", errors=[{"field": field, "message": reason}])


class OwnAccessChange(HavenError):
    """No one changes their own role or teams: separation of duties."""

    status, code, message = (
        403,
        "own_access_change",
        "You cannot change your own role or teams; another administrator must.",
    )


class ApproverNotEntitled(HavenError):
    """Only a coordinator of every team a grant opens, other than the requester and the
    account itself, may approve it."""

    status, code, message = (
        403,
        "approver_not_entitled",
        "A coordinator of every team this request opens, other than its requester, must approve.",
    )


class OneTimePasswordUsed(HavenError):
    """A password someone else chose works for one sign-in; this one was used already."""

    status, code = 401, "one_time_password_used"
    message = N_(
        "This one-time password was used already. Ask whoever gave it to you for a new one."
    )


class PasswordChangeRequired(HavenError):
    """The password is a one-time one: the first sign-in must replace it."""

    status, code = 403, "password_change_required"
    message = N_("This password works once: choose your own password now.")
    api_message = (
        "This password works once: send `new_password` with it to replace it and get a token."
    )
