"""The case file: one case as the reader may see it, edited section by section, its
consents, stage moves, assignment and legal hold.

Every route reaches its case through a scoped alias (app/cases/dependencies.py) and calls the
same services as the JSON API (app/cases/api.py); what is shown comes from the service's view,
already redacted by the policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.cases import erasure, service, transitions
from app.cases import file_sections as sections
from app.cases.dependencies import CaseAssign, CaseLegalHold, CaseRead, CaseTransition, CaseWrite
from app.cases.errors import StageGateFailed, StaleVersion
from app.cases.file_view import HELPERS, coming_dates
from app.cases.labels import (
    CONTACT_CHANNELS,
    DOCUMENT_TYPES,
    FIELDS,
    NEEDS,
    OUTCOME_KINDS,
    RISK_LEVELS,
    SERVICE_STATUSES,
    SITUATIONS,
    VETTING_STATUSES,
    WANTED_STATUSES,
    choices,
)
from app.cases.page_header import case_header
from app.cases.schemas import CaseFields, Transition
from app.cases.values import Consent
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import HavenError, NotFound
from app.forms import CHECK_FIELD, CHOOSE, read_form, read_lists, text_form, validate
from app.i18n import LazyText, lazy
from app.i18n.countries import country_groups
from app.intake.form_errors import CONTACT_INVALID
from app.policy.access import CaseAccess
from app.policy.permissions import Permission
from app.referrals import service as referrals
from app.users import directory
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

# What a stage gate's refusal means, in plain words, and where to put it right.
GATE_REASONS: dict[str, tuple[LazyText, str | None]] = {
    "consents": (lazy("Record consent (or another legal basis) to keep the record."), None),
    "risk_level": (lazy("Set a risk level."), "needs"),
    "needs": (lazy("Note at least one need."), "needs"),
    "referrals": (lazy("Send a referral to a partner first."), None),
    "outcome": (lazy("Write the outcome."), "outcome"),
    "closing_note": (lazy("Write a closing note."), "outcome"),
}
STALE = lazy(
    "Someone else changed this case while you were editing. Your text is still here: "
    "check the fields named below against the case file, then save again."
)
NOT_REACHABLE = lazy("The case cannot move to that stage from where it is now.")
ASSIGNEE = lazy("Choose a caseworker of this case's team from the list.")
LANGUAGE_CODES = lazy("Write each language as a code (ru) or a name (Russian), one per line.")
NOT_GIVEN = lazy("— not recorded —")
NOBODY = lazy("Nobody (back to the queue)")


def gate_reasons(missing: list[str] | tuple[str, ...]) -> list[tuple[LazyText, str | None]]:
    """A gate's missing items as sentences, each with the section that fixes it."""
    out = []
    for item in missing:
        key = item.split(":", 1)[0]
        out.append(GATE_REASONS.get(key, (lazy("Something is missing."), None)))
    return out


def _consents(view: Mapping[str, Any]) -> list[Consent]:
    return [Consent.model_validate(c) for c in view.get("consents") or []]


def _partner_names(db: Session, actor_can_read: bool) -> dict[str, str]:
    if not actor_can_read:
        return {}
    return {str(p.id): p.name for p in referrals.list_partners(db)}


def file_context(request: Request, db: Session, access: CaseAccess) -> dict[str, Any]:
    """Everything the case file shows: the redacted view, the moves, the team's caseworkers
    (for a coordinator), the consents, a pending erasure."""
    actor, case, now = access.actor, access.case, _now(request)
    keyring = _keyring(request)
    head = case_header(db, access, now=now)
    view = service.view(db, keyring=keyring, actor=actor, case=case)
    acting = head["glass_until"] is None  # a break-glass reader reads, never acts
    can = {
        "edit": acting and actor.can(Permission.CASE_UPDATE),
        "move": acting and actor.can(Permission.CASE_TRANSITION),
        "assign": acting and actor.can(Permission.CASE_ASSIGN),
        "hold": acting and actor.can(Permission.CASE_LEGAL_HOLD),
        "erase": acting and actor.can(Permission.CASE_ERASE),
        "export": acting and actor.can(Permission.CASE_EXPORT),
    }
    moves = transitions.moves(db, keyring=keyring, actor=actor, case=case) if can["move"] else []
    pending = erasure.pending(case, now) if can["erase"] else None
    listed = [view.get("assigned_to"), pending.requested_by if pending else None]
    names = directory.names(db, actor=actor, ids=[uuid.UUID(str(i)) for i in listed if i])
    workers = directory.caseworkers(db, actor=actor, team_id=case.team_id) if can["assign"] else []
    consent_list = _consents(view)
    return {
        **head,
        **HELPERS,
        "assignees": [
            ("none", NOBODY),
            *((str(w["id"]), str(w.get("name", ""))) for w in workers),
        ],
        "coming": coming_dates(view),
        "hold_error": None,
        "tab": "file",
        "view": view,
        "sections": [s for s in sections.SECTIONS if any(f in view for f in s.fields)],
        "field_label": FIELDS,
        "can": can,
        "moves": [(m, gate_reasons(m.missing)) for m in moves],
        "names": {str(k): v for k, v in names.items()},
        "me": str(actor.id),
        "caseworkers": workers,
        "consents": consent_list,
        "partners": _partner_names(
            db, any(c.partner for c in consent_list) and actor.can(Permission.PARTNER_READ)
        ),
        "pending_erasure": pending,
        "decision_due": can["erase"] and erasure.decision_due(case),
        "erasure_mine": pending is not None and pending.requested_by == actor.id,
        "stage_error": None,
        "values": {},
    }


def _file(
    request: Request, db: Session, access: CaseAccess, status: int = 200, **extra: Any
) -> Response:
    context = file_context(request, db, access)
    context.update(extra)
    return render(request, "cases/file/file.html", context, status)


@router.get("/cases/{case_id}")
def case_file(request: Request, db: DbSession, access: CaseRead) -> Response:
    """The case file: profile by section, consents, deadlines, stage and assignment."""
    return _file(request, db, access)


# --- editing a section ----------------------------------------------------------------


def back_to(case_id: uuid.UUID, anchor: str, done: str) -> Response:
    """303 to the case file at one of its parts, with the notice of what succeeded."""
    response = see_other(f"/cases/{case_id}", done=done)
    response.headers["location"] += f"#{anchor}"
    return response


def _section(key: str) -> sections.Section:
    found = sections.BY_KEY.get(key)
    if found is None:
        raise NotFound()
    return found


def _edit_page(
    request: Request,
    db: Session,
    access: CaseAccess,
    section: sections.Section,
    *,
    values: dict[str, str] | None = None,
    checked: list[str] | None = None,
    errors: Mapping[str, LazyText | str] | None = None,
    changed: list[str] | None = None,
    status: int = 200,
) -> Response:
    keyring, now = _keyring(request), _now(request)
    view = service.view(db, keyring=keyring, actor=access.actor, case=access.case)
    # The version the next save is based on: the one first read, unless the person has just
    # been shown what changed since (409), when saving again means "over the new version".
    form_version = view.get("version")
    if values is not None and status != 409:
        form_version = values.get("version") or form_version
    if values is None:
        values = sections.form_values(section, view)
        checked = list(view.get("needs") or [])
    context = {
        **case_header(db, access, now=now),
        "tab": "file",
        "section": section,
        "version": form_version,
        "values": values,
        "checked": checked or [],
        "errors": dict(errors or {}),
        "changed": changed,
        # What the changed fields hold now, to set beside what the person typed.
        "current": {name: view[name] for name in changed or [] if name in view},
        **HELPERS,
        "names": {},
        "me": str(access.actor.id),
        "rows": {name: sections.row_count(values, name, 0) for name in sections.ROWS},
        "field_label": FIELDS,
        "countries": country_groups,
        **_options(),
    }
    return render(request, "cases/file/edit.html", context, status)


def _options() -> dict[str, Any]:
    """The choices of the section forms' selects and check boxes (an empty first option where
    a field may stay unrecorded)."""
    empty = [("", NOT_GIVEN)]
    return {
        "opts": {
            "situation": empty + choices(SITUATIONS),
            "service_status": empty + choices(SERVICE_STATUSES),
            "risk_level": empty + choices(RISK_LEVELS),
            "outcome_kind": empty + choices(OUTCOME_KINDS),
        },
        "opts_needs": choices(NEEDS),
        "opts_channels": choices(CONTACT_CHANNELS),
        "opts_documents": empty + choices(DOCUMENT_TYPES),
        "opts_wanted": empty + choices(WANTED_STATUSES),
        "opts_vetting": empty + choices(VETTING_STATUSES),
    }


@router.get("/cases/{case_id}/edit/{section}")
def edit_section(section: str, request: Request, db: DbSession, access: CaseWrite) -> Response:
    """One section of the record as a form, filled in from the case."""
    return _edit_page(request, db, access, _section(section))


@router.post("/cases/{case_id}/edit/{section}")
async def save_section(
    section: str, request: Request, db: DbSession, access: CaseWrite
) -> Response:
    """Save a section (PATCH's rules: the version read, every field validated); 422 with
    each error beside its field, 409 naming what changed meanwhile, the form kept."""
    part = _section(section)
    form = await text_form(request)
    typed = {k: v[:25_000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    checked = (await read_lists(request, ["needs"]))["needs"]
    values = sections.renumber(typed)
    inputs = sections.input_names(part, values, {})
    payload = sections.payload(part, values, checked)
    parsed, errors = validate(CaseFields, payload, field_of=sections.error_field(inputs))
    errors = _plainer(errors, values)
    version = _version(values.get("version"))
    if version is None:
        errors["form"] = STALE
    if errors or parsed is None or version is None:
        return _edit_page(
            request, db, access, part, values=values, checked=checked, errors=errors, status=422
        )
    changes = service.validate_fields(payload)
    try:
        service.update_case(
            db,
            keyring=_keyring(request),
            actor=access.actor,
            case=access.case,
            version=version,
            changes=changes,
            now=_now(request),
        )
    except StaleVersion as exc:
        db.rollback()
        return _edit_page(
            request,
            db,
            access,
            part,
            values=values,
            checked=checked,
            errors={"form": STALE},
            changed=list(exc.extra.get("changed_fields") or []),
            status=409,
        )
    except HavenError as exc:
        if exc.status != 422:  # "no field to change" is a save that changed nothing
            raise
        db.rollback()
    return back_to(access.case.id, part.key, "saved")


def _plainer(errors: dict[str, LazyText], values: Mapping[str, str]) -> dict[str, LazyText]:
    """Say what a contact or a language code must look like, not just "check this field"."""
    out = dict(errors)
    for name, message in errors.items():
        if message is not CHECK_FIELD:
            continue
        if name.startswith("contacts.") and name.endswith(".value"):
            channel = values.get(name.removesuffix(".value") + ".channel", "")
            out[name] = CONTACT_INVALID.get(channel, CHECK_FIELD)
        elif name == "languages":
            out[name] = LANGUAGE_CODES
    return out


def _version(text: str | None) -> int | None:
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if 1 <= value < 2**31 else None


# --- stage, assignment, legal hold ----------------------------------------------------


@router.post("/cases/{case_id}/stage")
async def move_stage(request: Request, db: DbSession, access: CaseTransition) -> Response:
    """Move the case to another stage; a refusal shows the gate's reasons in plain words."""
    values = await read_form(request, ["to"])
    parsed, _ = validate(Transition, {"to": values.get("to", "")})
    if parsed is None:
        return _file(request, db, access, 422, stage_error=[(CHOOSE, None)])
    try:
        transitions.transition(
            db,
            keyring=_keyring(request),
            actor=access.actor,
            case=access.case,
            to=parsed.to,
            now=_now(request),
        )
    except StageGateFailed as exc:
        db.rollback()
        reasons = gate_reasons(list(exc.extra.get("missing") or []))
        return _file(request, db, access, 409, stage_error=reasons)
    except HavenError as exc:
        if exc.status != 409:
            raise
        db.rollback()
        return _file(request, db, access, 409, stage_error=[(NOT_REACHABLE, None)])
    return see_other(f"/cases/{access.case.id}", done="stage_moved")


@router.post("/cases/{case_id}/assign")
async def assign_case(request: Request, db: DbSession, access: CaseAssign) -> Response:
    """Assign the case to a caseworker of its team, or back to the unassigned queue."""
    values = await read_form(request, ["user_id"])
    chosen = values.get("user_id", "")
    try:
        user_id = uuid.UUID(chosen) if chosen and chosen != "none" else None
    except ValueError:
        user_id = None
        chosen = ""
    if not chosen:
        return _file(request, db, access, 422, errors={"user_id": ASSIGNEE}, values=values)
    try:
        service.assign(
            db,
            keyring=_keyring(request),
            actor=access.actor,
            case=access.case,
            user_id=user_id,
            now=_now(request),
        )
    except HavenError as exc:
        if exc.status != 422:
            raise
        db.rollback()
        return _file(request, db, access, 422, errors={"user_id": ASSIGNEE}, values=values)
    return see_other(f"/cases/{access.case.id}", done="assigned")


@router.post("/cases/{case_id}/hold")
async def legal_hold(request: Request, db: DbSession, access: CaseLegalHold) -> Response:
    """Set or lift the legal hold (the API's PATCH with `legal_hold`), at the version read."""
    values = await read_form(request, ["hold", "version"])
    version = _version(values.get("version"))
    hold = values.get("hold") == "on"
    if version is None:
        return _file(request, db, access, 422, hold_error=STALE)
    try:
        service.update_case(
            db,
            keyring=_keyring(request),
            actor=access.actor,
            case=access.case,
            version=version,
            changes={"legal_hold": hold},
            now=_now(request),
        )
    except StaleVersion:
        db.rollback()
        return _file(request, db, access, 409, hold_error=STALE)
    return back_to(access.case.id, "hold", "hold_set" if hold else "hold_lifted")
