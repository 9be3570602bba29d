"""The panic seal page for coordinators and admins: what sealing does, in plain words, and a
confirmation that cannot be skipped (the word typed again), then the seal itself.

No re-authentication is asked, as in the API: a coordinator whose volunteer's phone was just
seized at the border must be able to seal from their own phone in seconds. Typing the word
keeps a stray tap from sealing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.deps import DbSession
from app.forms import read_form
from app.i18n import LOCALES, LazyText, activated, lazy
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.system.seal import seal_now
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

# The word to type, as the page shows it. Its form in any of the interface's languages is
# accepted (a phone's keyboard may be set to another than the page's).
CONFIRM_WORD = lazy("SEAL")
WORD_DIFFERS = lazy("Type the word shown above to seal the service.")


def _confirmed(typed: str) -> bool:
    given = typed.strip().casefold()
    accepted = set()
    for locale in LOCALES:
        with activated(locale):
            accepted.add(str(CONFIRM_WORD).casefold())
    return given in accepted


def _page(request: Request, *, typed: str = "", errors: dict[str, LazyText] | None = None,
          status: int = 200) -> Response:  # fmt: skip
    context = {"word": CONFIRM_WORD, "typed": typed, "errors": errors or {}}
    return render(request, "system/seal.html", context, status)


@router.get("/seal")
def seal_page(request: Request, actor: Actor = require(Permission.SYS_SEAL)) -> Response:
    """What sealing does, and the form that does it."""
    return _page(request)


@router.post("/seal")
async def seal_submit(
    request: Request, db: DbSession, actor: Actor = require(Permission.SYS_SEAL)
) -> Response:
    """Seal when the word was typed; otherwise the form again, nothing sealed."""
    typed = (await read_form(request, ["confirm"])).get("confirm", "")
    if not _confirmed(typed):
        return _page(request, typed=typed, errors={"confirm": WORD_DIFFERS}, status=422)
    seal_now(db, keyring=request.app.state.keyring, actor=actor)
    # Every page, this one's next included, now answers that the service is sealed.
    return see_other("/")
