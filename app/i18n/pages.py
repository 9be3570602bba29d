"""The language switcher's two routes (templates/_languages.html shows them).

- `GET /language/<code>?next=/path`: for a visitor, sets the `haven_lang` cookie and goes
  back to `next`. A GET link works with JavaScript off and needs no token: all it changes is
  the language of this browser's pages.
- `POST /account/language` (session CSRF token): stores a signed-in person's choice on the
  account, sets the cookie too (the sign-in page after sign-out stays in that language).

Both send the browser back only to a path on this site (`safe_return_path`): never to
another host, whatever `next` holds. The cookie ends with the browser session and holds only
the language code.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.responses import Response

from app.config import Settings
from app.deps import AppSettings, DbSession
from app.errors import NotFound
from app.i18n.core import is_supported
from app.i18n.negotiation import cookie_name
from app.policy.deps import PUBLIC, Actor, require
from app.policy.permissions import Permission
from app.users import service
from app.users.models import User
from app.web import safe_return_path, see_other

router = APIRouter(tags=["language"], include_in_schema=False)


def _remember(response: Response, locale: str, settings: Settings) -> None:
    response.set_cookie(
        cookie_name(settings.secure_cookies),
        locale,
        httponly=True,
        secure=settings.secure_cookies,
        # Lax: a link from elsewhere to /request still opens in the chosen language.
        samesite="lax",
        path="/",
    )


@router.get("/language/{locale}", dependencies=PUBLIC)
def switch_language(
    locale: str,
    settings: AppSettings,
    back_to: Annotated[str, Query(alias="next", max_length=2_000)] = "/",
) -> Response:
    """Show this browser's pages in locale from now on, then go back to `next`."""
    if not is_supported(locale):
        raise NotFound()
    response = see_other(safe_return_path(back_to))
    _remember(response, locale, settings)
    return response


@router.post("/account/language")
def set_account_language(
    *,
    db: DbSession,
    settings: AppSettings,
    language: Annotated[str, Form(max_length=8)],
    back_to: Annotated[str, Form(alias="next", max_length=2_000)] = "/",
    actor: Actor = require(Permission.SELF_UPDATE),
) -> Response:
    """Store the signed-in person's language, then go back to `next`."""
    user = db.get(User, actor.id)
    assert user is not None  # noqa: S101 - resolved by require()
    service.set_language(db, user=user, language=language)
    response = see_other(safe_return_path(back_to))
    _remember(response, language, settings)
    return response
