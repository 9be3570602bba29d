"""The locale of a request: the signed-in user's stored choice, else the `haven_lang`
cookie set by the language switcher, else the browser's Accept-Language negotiated with
Babel, else English.

The signed-in user's choice reaches this module through `note_signed_in`, which the sign-in
check calls once it has resolved the user; nothing here reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.core import negotiate_locale
from starlette.requests import Request

from app.i18n.core import DEFAULT_LOCALE, LOCALES, is_supported

COOKIE = "haven_lang"
_ACCEPT_MAX_CHARS = 512  # a real header is far shorter; a longer one is not parsed past this
_ACCEPT_MAX_TAGS = 16


@dataclass(frozen=True)
class Viewer:
    """What the page layer knows of a signed-in person: their stored language, their
    session's CSRF token when the session is complete (every form needs it), and the role
    and name the header shows."""

    language: str | None
    csrf_token: str | None
    role: str | None = None
    name: str | None = None


def cookie_name(secure_cookies: bool) -> str:
    """The language cookie's name (`__Host-` prefixed when cookies are Secure)."""
    return ("__Host-" if secure_cookies else "") + COOKIE


def note_signed_in(
    request: Request,
    *,
    language: str | None,
    csrf_token: str | None,
    role: str | None = None,
    name: str | None = None,
) -> None:
    """Record on the request who is signed in, for the locale, the header and the forms."""
    request.state.haven_viewer = Viewer(
        language=language, csrf_token=csrf_token, role=role, name=name
    )


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in person noted for this request, if any."""
    viewer = getattr(request.state, "haven_viewer", None)
    return viewer if isinstance(viewer, Viewer) else None


def accepted_languages(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:_ACCEPT_MAX_CHARS].split(",")[:_ACCEPT_MAX_TAGS]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _q, _i, tag in sorted(weighted)]


def locale_of(request: Request) -> str:
    """The locale to render this request's page in."""
    viewer = viewer_of(request)
    if viewer is not None and is_supported(viewer.language):
        return str(viewer.language)
    chosen = request.cookies.get(cookie_name(request.app.state.settings.secure_cookies))
    if is_supported(chosen):
        return str(chosen)
    preferred = accepted_languages(request.headers.get("accept-language", ""))
    return negotiate_locale(preferred, list(LOCALES), sep="-") or DEFAULT_LOCALE
