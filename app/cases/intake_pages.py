"""The intake interview: `GET/POST /cases/new`, a long form in the sections of the record.

The form runs the API's own services: the duplicate check (`POST /api/v1/cases/duplicates`:
matches in scope linked, outside scope only flagged) from a second submit button, and the
case's creation (`POST /api/v1/cases`) with CaseCreate's validation, each error beside its
field and everything typed given back. A POST whose session lapsed keeps the interview,
encrypted, for its account (app/cases/drafts.py) and sends the browser to sign in; the last
sign-in step continues to `/cases/new?draft=<id>`, which gives it back.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.cases import drafts, duplicates, labels, service
from app.cases.drafts import KeepsInterview, Lapsed
from app.cases.intake_form import (
    LABELS,
    LIST_FIELDS,
    TEAM,
    TEXT_FIELDS,
    IntakePayload,
    duplicate_probe,
)
from app.cases.schemas import DuplicatesOut
from app.config import Settings
from app.deps import AppSettings, DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import HavenError, InvalidInput, NotFound
from app.forms import read_form, read_lists
from app.i18n import LazyText, lazy
from app.i18n.countries import country_groups
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.users.service import teams_of
from app.web import render, resume_after_sign_in, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)
# The signed-in caseworker, or the account whose session lapsed mid-interview.
Interviewer = Annotated[Actor | Lapsed, Depends(KeepsInterview(Permission.CASE_CREATE))]

RESTORED = lazy(
    "This is the interview you were typing when your session ended. Check it, then save it."
)
NOT_RESTORED = lazy(
    "This kept interview cannot be opened: it was saved already, is more than a day old, "
    "or was kept for another account."
)


def _context(db: Session, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    teams = teams_of(db, actor.id) if len(actor.team_ids) > 1 else []
    return {
        "values": values,
        "needs_chosen": values.get("needs") or [],
        "countries": country_groups,
        "channels": labels.channel_choices(),
        "situations": labels.choices(labels.SITUATIONS),
        "service_statuses": labels.choices(labels.SERVICE_STATUSES),
        "wanted_statuses": labels.choices(labels.WANTED_STATUSES),
        "document_types": labels.choices(labels.DOCUMENT_TYPES),
        "risk_levels": labels.choices(labels.RISK_LEVELS),
        "needs": labels.choices(labels.NEEDS),
        "bases": labels.choices(labels.LEGAL_BASES),
        "teams": [(str(t.id), t.name) for t in teams],
        "field_labels": LABELS,
        "kept": [],
        "message": None,
        "message_warns": False,
        "duplicates": None,
        "duplicates_error": None,
    }


def _page(
    request: Request,
    db: Session,
    actor: Actor,
    values: dict[str, Any],
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    return render(request, "cases/new.html", _context(db, actor, values) | extra, status)


@router.get("/cases/new")
def new_case_form(
    request: Request,
    db: DbSession,
    draft: uuid.UUID | None = None,
    actor: Actor = require(Permission.CASE_CREATE),
) -> Response:
    """The empty interview, or (`?draft=`) one kept when its session lapsed."""
    now = _now(request)
    if draft is None:
        kept = drafts.kept_for(db, actor=actor, now=now)
        return _page(request, db, actor, {}, kept=kept)
    try:
        values = drafts.restore(db, keyring=_keyring(request), actor=actor, draft_id=draft, now=now)
    except NotFound:
        return _page(request, db, actor, {}, status=404, message=NOT_RESTORED, message_warns=True)
    values["draft"] = str(draft)
    return _page(request, db, actor, values, message=RESTORED)


async def _typed(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = await read_form(request, (*TEXT_FIELDS, "draft", "action"))
    values.update(await read_lists(request, LIST_FIELDS))
    return values


def _draft_id(values: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(values.get("draft", "")))
    except ValueError:
        return None


@router.post("/cases/new")
async def new_case_submit(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    who: Interviewer,
) -> Response:
    """Save the interview as a new case (303 to its file), or check it for duplicates; with
    a lapsed session, keep it for its account and send the browser to sign in."""
    values = await _typed(request)
    action = values.pop("action", "save")
    if isinstance(who, Lapsed):
        return _keep(request, db, settings, who, values)
    if action == "check":
        return _check(request, db, who, values)
    return _save(request, db, who, values)


def _keep(
    request: Request, db: Session, settings: Settings, lapsed: Lapsed, values: dict[str, Any]
) -> Response:
    """Keep the interview for the lapsed account (replacing the kept one it was restored
    from) and send the browser to sign in, to continue at the kept interview."""
    previous = _draft_id(values)
    values.pop("draft", None)
    draft_id = drafts.keep(
        db, keyring=_keyring(request), lapsed=lapsed, values=values, now=_now(request)
    )
    if previous is not None:
        drafts.discard(db, user_id=lapsed.user_id, draft_id=previous)
    response = see_other("/login", done="interview_kept")
    resume_after_sign_in(response, f"/cases/new?draft={draft_id}", settings)
    return response


def _check(request: Request, db: Session, actor: Actor, values: dict[str, Any]) -> Response:
    probe, problem = duplicate_probe(values)
    if probe is None:
        return _page(request, db, actor, values, duplicates_error=problem)
    try:
        found = duplicates.check(
            db,
            keyring=_keyring(request),
            actor=actor,
            probes=probe.probes(),
            kinds=sorted(probe.model_dump(exclude_none=True)),
            now=_now(request),
        )
    except HavenError as exc:  # throttled: the refusal is kept, the form comes back
        return _page(
            request, db, actor, values, status=exc.status, duplicates_error=LazyText(exc.message)
        )
    return _page(request, db, actor, values, duplicates=DuplicatesOut.model_validate(found))


def _save(request: Request, db: Session, actor: Actor, values: dict[str, Any]) -> Response:
    now = _now(request)
    form = IntakePayload(
        {k: v for k, v in values.items() if isinstance(v, str)},
        list(values.get("needs") or []),
        actor_id=str(actor.id),
        now=now,
    )
    parsed, errors = form.validate()
    team_id = None
    if parsed is not None:
        try:
            team_id = service.resolve_team(actor, parsed.team_id)
        except InvalidInput:
            errors["team_id"] = TEAM
    if parsed is None or team_id is None:
        return _page(request, db, actor, values, status=422, errors=errors)
    fields = service.validate_fields(parsed.model_dump(exclude_unset=True, exclude={"team_id"}))
    case = service.create_case(
        db, keyring=_keyring(request), actor=actor, team_id=team_id, values=fields, now=now
    )
    draft = _draft_id(values)
    if draft is not None:
        drafts.discard(db, user_id=actor.id, draft_id=draft)
    return see_other(f"/cases/{case.id}", done="case_created")
