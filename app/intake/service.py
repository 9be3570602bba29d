"""Public self-referral: a request for help from someone without an account, encrypted the
moment it arrives and landing in the coordinators' triage queue (stage intake, unassigned,
vetting unverified)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases import service as cases
from app.cases.models import Case
from app.cases.vocab import SELF_REFERRAL, VettingStatus
from app.config import Settings
from app.crypto.keyring import Keyring
from app.errors import HavenError
from app.i18n import N_
from app.intake import throttle
from app.intake.schemas import RequestIn
from app.policy.deps import Actor
from app.users.models import Team, User, shown_name

SOURCE = SELF_REFERRAL


class IntakeUnavailable(HavenError):
    """503: no team to receive requests (none exists, or HAVEN_INTAKE_TEAM names none)."""

    status, code = 503, "intake_unavailable"
    message = N_("Requests cannot be received right now; please try again later.")


def intake_team(db: Session, settings: Settings) -> Team:
    """The team self-referrals go to: HAVEN_INTAKE_TEAM, or else the first team by name."""
    stmt = select(Team)
    if settings.intake_team:
        stmt = stmt.where(Team.name == settings.intake_team)
    team = db.scalars(stmt.order_by(Team.name).limit(1)).first()
    if team is None:
        raise IntakeUnavailable()
    return team


def request_values(data: RequestIn) -> dict[str, Any]:
    """The case fields a request becomes: the pseudonym as an alias, the contacts, the
    message as intake notes, vetting unverified (validated like any case input)."""
    values = cases.validate_fields(
        {
            "aliases": [data.pseudonym],
            "contacts": [c.model_dump(mode="json") for c in data.contacts],
            "intake_notes": data.message,
            "vetting": {"status": "unverified"},
            "citizenship": data.citizenship,
            "current_country": data.current_country,
        }
    )
    return {k: v for k, v in values.items() if v is not None}


def receive_request(
    db: Session,
    *,
    keyring: Keyring,
    settings: Settings,
    data: RequestIn,
    address: str,
    now: datetime,
) -> Case:
    """Throttle, then store the request as a new unverified case (flushes, never commits)."""
    throttle.admit(db, keyring=keyring, address=address, now=now, settings=settings)
    team = intake_team(db, settings)
    values = request_values(data)
    case = cases.create_case(
        db, keyring=keyring, actor=None, team_id=team.id, values=values, now=now, source=SOURCE
    )
    record(db, AuditAction.REQUEST_RECEIVED, on=("case", case.id), fields=sorted(values))
    return case


def vet(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    status: VettingStatus,
    version: int,
    now: datetime,
) -> Case:
    """A coordinator's judgement of a request (genuine, or suspicious): the status and who
    checked are written like any change to the case (revision, audit, version check); the
    vetting notes are kept as they were."""
    current = rec.read(case, rec.case_key(db, keyring=keyring, case=case), ["vetting"])
    checker = db.get_one(User, actor.id)
    vetting = {**(current["vetting"] or {}), "status": status.value, "by": shown_name(checker)}
    changes = cases.validate_fields({"vetting": vetting})
    return cases.update_case(
        db, keyring=keyring, actor=actor, case=case, version=version, changes=changes, now=now
    )
