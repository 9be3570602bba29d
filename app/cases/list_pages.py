"""Case lists and search: `GET /cases` (my cases, the team's cases; plain filters in the
query, paged) and `POST /cases/search` (personal terms, only ever in a POST body).

Both run the API's services (`search.page_in_scope`, `search.search_in_scope`) and show the
list shape only: code, stage, risk and the plain dimensions, never a decrypted field. A
plain list page sends the same number of SQL statements whatever its length.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.cases import drafts, labels, search
from app.cases.schemas import CaseListItem, ListQuery, SearchIn
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import HavenError
from app.forms import read_form, validate
from app.i18n import LazyText, lazy
from app.i18n.countries import country_groups
from app.pagination import Page
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.users.directory import names as names_of
from app.web import render

router = APIRouter(tags=["pages"], include_in_schema=False)

PER_PAGE = 25
FILTERS = ("stage", "risk", "country", "need", "assigned_to", "sort", "mine", "code", "page")
TERMS = ("name", "phone", "handle", "date_of_birth")
SORTS: tuple[tuple[str, LazyText], ...] = (
    ("-created", lazy("Newest first")),
    ("created", lazy("Oldest first")),
    ("-updated", lazy("Changed most recently")),
    ("due", lazy("Next date due")),
    ("-risk", lazy("Highest risk first")),
    ("stage", lazy("By stage")),
)
NAME = lazy("Write at least one word of two letters or more.")
PHONE = lazy("Write the phone number with its digits, for example +995 555 12 34 56.")
HANDLE = lazy("Write the username, for example @example_name.")
SEARCH_TERMS = lazy("Give a name, a phone, a username or a date of birth to search by.")


def _filters_from(params: dict[str, str]) -> dict[str, Any]:
    """The non-empty filters of a form or a query (an empty select means 'any')."""
    out: dict[str, Any] = {k: params[k].strip() for k in FILTERS if params.get(k, "").strip()}
    out["per_page"] = PER_PAGE
    if "mine" in out:
        out["mine"] = out["mine"] in ("true", "on", "1")
    return out


def _context(
    db: Session, actor: Actor, values: dict[str, Any], found: Page[Any] | None, **extra: Any
) -> dict[str, Any]:
    items = [CaseListItem.model_validate(search.list_item(c)) for c in found.items] if found else []
    pages = -(-found.total // found.per_page) if found else 0
    return {
        "values": values,
        "items": items,
        # One query whatever the length of the page: who each case is assigned to, as far
        # as the policy names colleagues to the reader.
        "names": names_of(
            db, actor=actor, ids=[c.assigned_to for c in found.items] if found else []
        ),
        "found": found,
        "pages": pages,
        "stages": labels.choices(labels.STAGES),
        "risk_levels": labels.choices(labels.RISK_LEVELS),
        "needs": labels.choices(labels.NEEDS),
        "sorts": SORTS,
        "countries": country_groups,
        "prev_url": None,
        "next_url": None,
        **extra,
    }


def _kept(db: Session, actor: Actor, request: Request) -> list[Any]:
    if not actor.can(Permission.CASE_CREATE):
        return []
    return drafts.kept_for(db, actor=actor, now=_now(request))


def _page_links(values: dict[str, str], found: Page[Any]) -> dict[str, str | None]:
    """Links to the previous and next page, keeping the filters (plain, so in the URL)."""
    kept = {k: v for k, v in values.items() if k != "page" and v}

    def url(page: int) -> str:
        return "/cases?" + urlencode(kept | {"page": str(page)})

    last = -(-found.total // found.per_page)
    more = found.page < last or (found.total_capped and len(found.items) == found.per_page)
    return {
        "prev_url": url(found.page - 1) if found.page > 1 else None,
        "next_url": url(found.page + 1) if more else None,
    }


@router.get("/cases")
def case_list(
    request: Request, db: DbSession, actor: Actor = require(Permission.CASE_LIST)
) -> Response:
    """Cases in scope, filtered by stage, risk, country and need; `?mine=true`: my cases."""
    values = {k: v for k, v in request.query_params.items() if k in FILTERS}
    query, errors = validate(ListQuery, _filters_from(values))
    found = None
    if query is not None:
        found = search.page_in_scope(
            db,
            keyring=_keyring(request),
            actor=actor,
            permission=Permission.CASE_LIST,
            f=query.filters(),
            paging=query,
            sort=query.sort,
            now=_now(request),
            count_cap=request.app.state.settings.list_count_cap,
        )
    context = _context(db, actor, values, found, searched=False, kept=_kept(db, actor, request))
    if found is not None:
        context |= _page_links(values, found)
    return render(request, "cases/list.html", context | {"errors": errors}, 422 if errors else 200)


@router.post("/cases/search")
async def case_search(
    request: Request, db: DbSession, actor: Actor = require(Permission.CASE_SEARCH)
) -> Response:
    """Search by name, phone, username or birth date (audited by the service, terms never
    recorded), with the list's filters; the same list comes back."""
    values = await read_form(request, (*FILTERS, *TERMS))
    terms = {k: values[k].strip() for k in TERMS if values.get(k, "").strip()}
    payload = _filters_from(values) | terms
    messages = {
        "name": {"value_error": NAME},
        "phone": {"value_error": PHONE, "string_too_short": PHONE},
        "handle": {"value_error": HANDLE, "string_too_short": HANDLE},
    }
    query, errors = validate(SearchIn, payload, messages=messages)
    if query is not None and not any(k in payload for k in TERMS):
        query, errors = None, {"name": SEARCH_TERMS}
    found = None
    if query is not None:
        try:
            found = search.search_in_scope(
                db,
                keyring=_keyring(request),
                actor=actor,
                f=query.filters(),
                paging=query,
                sort=query.sort,
                now=_now(request),
            )
        except HavenError as exc:  # too broad: add a term
            errors = {"name": LazyText(exc.message)}
    context = _context(db, actor, values, found, searched=True, kept=[])
    return render(request, "cases/list.html", context | {"errors": errors}, 422 if errors else 200)
