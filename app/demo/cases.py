"""`haven demo` cases: invented people in every stage the gates allow, tasks for the demo
volunteer and one self-referral, all made through the services (so every gate, encryption
and audit entry is real). Idempotent: it tops the demo team up to the asked number.

This is a flow that owns its transactions (one commit per batch), like key rotation; the
services it calls only flush."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cases import service as cases
from app.cases import transitions
from app.cases.models import Case
from app.cases.values import Contact
from app.cases.vocab import ContactChannel, Stage
from app.crypto.keyring import Keyring
from app.db import transaction
from app.demo.accounts import DEMO_DOMAIN, DEMO_TEAM
from app.demo.people import PeopleMaker
from app.documents import service as documents
from app.documents.blobs import BlobStore
from app.intake.schemas import RequestIn
from app.intake.service import SOURCE as SELF_REFERRAL
from app.intake.service import request_values
from app.policy.deps import Actor, AuthMethod
from app.policy.permissions import Role
from app.referrals import service as referrals
from app.referrals.models import Partner
from app.referrals.packet import encode_public_key
from app.referrals.rules import ReferralStatus
from app.tasks import service as tasks
from app.tasks.errors import IdentifyingText
from app.tasks.schemas import TaskCreate
from app.users.models import Team, User

DEFAULT_CASES = 40
BATCH = 500
# One cycle of 20 cases: 6 intake (2 of them unassigned), 5 documentation, 4 referral (a
# draft referral each), 2 follow-up (a sent referral each), 3 closed.
_CYCLE = (
    [Stage.INTAKE] * 6
    + [Stage.DOCUMENTATION] * 5
    + [Stage.REFERRAL] * 4
    + [Stage.FOLLOW_UP] * 2
    + [Stage.CLOSED] * 3
)
_PATH = {
    Stage.INTAKE: (),
    Stage.DOCUMENTATION: (Stage.DOCUMENTATION,),
    Stage.REFERRAL: (Stage.DOCUMENTATION, Stage.REFERRAL),
    Stage.FOLLOW_UP: (Stage.DOCUMENTATION, Stage.REFERRAL),  # then a sent referral, then on
    Stage.CLOSED: (Stage.DOCUMENTATION, Stage.REFERRAL, Stage.CLOSED),
}
DEMO_PARTNER = "Demo legal aid (invented)"
REFERRED_FIELDS = ("legal_name", "date_of_birth", "situation", "criminal_case")
TASK_TEXTS = (
    ("Meet at the railway station", "Thursday 14:00 under the big clock. Bring a SIM card."),
    ("Buy a bus ticket", "One ticket for Saturday morning; hand it over at the café."),
    ("Accompany to the lawyer", "Office on the 3rd floor, room 12, at 10:30. Wait outside."),
    ("Bring warm clothes", "A jacket (size L) and boots (43) to the shelter reception."),
)


@dataclass(frozen=True)
class DemoReport:
    """What a run added."""

    existing: int
    added: int
    tasks: int
    self_referral: bool
    documents: int = 0


# Invented papers for cases past intake, as a one-page PDF each (plain Latin text: the
# standard fonts every reader has carry no Cyrillic). They name no one.
DEMO_DOCUMENTS = (
    ("povestka-demo.pdf", "Call-up notice (povestka), photographed - DEMO"),
    ("voennyi-bilet-demo.pdf", "Military ID (voennyi bilet), copy of page 1 - DEMO"),
    ("asylum-receipt-demo.pdf", "Asylum application, receipt - DEMO"),
)


def demo_pdf(title: str) -> bytes:
    """A one-page PDF saying `title` and that it is invented (ASCII text only)."""
    lines = (title, "Haven demo: an invented document about no real person.")
    shown = b" 0 -24 Td ".join(b"(%s) Tj" % line.encode("ascii") for line in lines)
    text = b"BT /F1 14 Tf 72 760 Td " + shown + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(text), text),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _document(
    db: Session,
    *,
    keyring: Keyring,
    store: BlobStore,
    cast: _Cast,
    case: Case,
    n: int,
    now: datetime,
) -> None:
    name, title = DEMO_DOCUMENTS[n % len(DEMO_DOCUMENTS)]
    documents.store_bytes(
        db,
        store=store,
        dek=documents.case_key(db, keyring=keyring, case=case),
        actor=cast.caseworker,
        case=case,
        body=demo_pdf(title),
        filename=name,
        content_type="application/pdf",
        now=now,
    )


def _actor(user: User, team_id: uuid.UUID) -> Actor:
    """The demo account acting from the command line (no session: the CLI is the operator)."""
    return Actor(
        id=user.id,
        role=Role(user.role),
        team_ids=frozenset({team_id}),
        auth=AuthMethod.BEARER,
        session_id=uuid.uuid4(),
        reauth_at=None,
    )


@dataclass(frozen=True)
class _Cast:
    team_id: uuid.UUID
    coordinator: Actor
    caseworker: Actor
    volunteer_id: uuid.UUID
    partner_id: uuid.UUID


def _demo_partner(db: Session, actor: Actor, now: datetime) -> uuid.UUID:
    """The invented partner demo referrals go to (its private key is thrown away: demo
    packets can be sent but nobody can open them)."""
    found = db.scalar(select(Partner.id).where(Partner.name == DEMO_PARTNER))
    if found is not None:
        return found
    key = encode_public_key(X25519PrivateKey.generate().public_key())
    partner = referrals.create_partner(
        db,
        actor=actor,
        name=DEMO_PARTNER,
        services=["legal", "asylum"],
        countries=["DE", "LT"],
        public_key=key,
        now=now,
    )
    return partner.id


def _cast(db: Session, now: datetime) -> _Cast:
    team = db.scalars(select(Team).where(Team.name == DEMO_TEAM)).one()

    def user(role: Role) -> User:
        return db.scalars(select(User).where(User.email == f"{role.value}@{DEMO_DOMAIN}")).one()

    coordinator = _actor(user(Role.COORDINATOR), team.id)
    return _Cast(
        team_id=team.id,
        coordinator=coordinator,
        caseworker=_actor(user(Role.CASEWORKER), team.id),
        volunteer_id=user(Role.VOLUNTEER).id,
        partner_id=_demo_partner(db, coordinator, now),
    )


def _stage_values(stage: Stage, now: datetime, n: int, partner_id: uuid.UUID) -> dict[str, Any]:
    """What the gates on the way to stage need, recorded at intake."""
    values: dict[str, Any] = {}
    if stage is not Stage.INTAKE:
        values["risk_level"] = ("low", "medium", "high", "critical")[n % 4]
        values["consents"] = [
            {"purpose": "store", "legal_basis": "consent", "given_at": now.isoformat()}
        ]
    if stage in (Stage.REFERRAL, Stage.FOLLOW_UP):
        values["consents"].append(
            {
                "purpose": "share_with_partner",
                "partner": str(partner_id),
                "legal_basis": "consent",
                "given_at": now.isoformat(),
            }
        )
    if stage in (Stage.REFERRAL, Stage.FOLLOW_UP, Stage.CLOSED):
        values["needs"] = [("legal", "asylum", "shelter", "documents")[n % 4]]
    if stage in (Stage.DOCUMENTATION, Stage.REFERRAL, Stage.FOLLOW_UP):
        # Hearings and deadlines spread over the coming weeks, so the board has dates due.
        values["protection"] = {
            "asylum_country": ("DE", "LT", "GE", "FR")[n % 4],
            "hearings": [{"on": (now + timedelta(days=1 + n % 21)).date().isoformat()}],
            "deadlines": [
                {
                    "on": (now + timedelta(days=3 + n % 30)).date().isoformat(),
                    "what": "Submit the documents to the lawyer",
                }
            ],
        }
    if stage is Stage.CLOSED:
        values["outcome"] = "Reached a safe country; asylum claim lodged."
        values["closing_note"] = "Closed at the person's request after a successful referral."
        values["outcome_kind"] = ("protection_granted", "safe_relocation", "referred_elsewhere")[
            n % 3
        ]
    return values


def _one_case(
    db: Session, *, keyring: Keyring, cast: _Cast, people: PeopleMaker, n: int, now: datetime
) -> tuple[Case, Stage]:
    stage = _CYCLE[n % len(_CYCLE)]
    extra = _stage_values(stage, now, n, cast.partner_id)
    values = cases.validate_fields({**people.person(now.date()), **extra})
    unassigned = stage is Stage.INTAKE and n % 3 == 0
    case = cases.create_case(
        db,
        keyring=keyring,
        actor=None if unassigned else cast.caseworker,
        team_id=cast.team_id,
        values=values,
        now=now,
    )
    for step in _PATH[stage]:
        transitions.transition(
            db, keyring=keyring, actor=cast.caseworker, case=case, to=step, now=now
        )
    if stage in (Stage.REFERRAL, Stage.FOLLOW_UP):
        ref = referrals.create_referral(
            db,
            keyring=keyring,
            actor=cast.caseworker,
            case=case,
            partner_id=cast.partner_id,
            fields=REFERRED_FIELDS,
            note="Please contact within a week (demo).",
            now=now,
        )
        if stage is Stage.FOLLOW_UP:
            referrals.change_status(
                db,
                keyring=keyring,
                actor=cast.coordinator,
                case=case,
                ref=ref,
                status=ReferralStatus.SENT,
                now=now,
            )
            transitions.transition(
                db, keyring=keyring, actor=cast.caseworker, case=case, to=stage, now=now
            )
    return case, stage


def _task(db: Session, *, keyring: Keyring, cast: _Cast, case: Case, n: int, now: datetime) -> bool:
    title, instructions = TASK_TEXTS[n % len(TASK_TEXTS)]
    data = TaskCreate(
        case_id=case.id,
        assigned_to=cast.volunteer_id,
        title=title,
        instructions=instructions,
        place=("Tbilisi, central station", "Vilnius, bus station", "Astana, city centre")[n % 3],
        due=now + timedelta(days=1 + n % 6, hours=n % 9),
    )
    try:
        tasks.create_task(
            db, keyring=keyring, actor=cast.coordinator, case=case, data=data, now=now
        )
    except IdentifyingText:  # an invented name happened to resemble a word of the text
        return False
    return True


def _self_referral(db: Session, *, keyring: Keyring, cast: _Cast, now: datetime) -> bool:
    exists = db.scalar(
        select(Case.id).where(Case.team_id == cast.team_id, Case.source == SELF_REFERRAL).limit(1)
    )
    if exists is not None:
        return False
    data = RequestIn(
        pseudonym="Лесник",
        contacts=[Contact(channel=ContactChannel.SIGNAL, value="lesnik_demo.42")],
        message="Ушёл из части неделю назад, сейчас в Ереване. Нужна помощь юриста.",
        citizenship="RU",
        current_country="AM",
    )
    values = request_values(data)
    cases.create_case(
        db, keyring=keyring, actor=None, team_id=cast.team_id, values=values, now=now,
        source=SELF_REFERRAL,
    )  # fmt: skip
    return True


def load_demo_cases(
    factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    target: int = DEFAULT_CASES,
    seed: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    store: BlobStore | None = None,
) -> DemoReport:
    """Top the demo team up to `target` staff-made cases (plus one self-referral), in
    batches of BATCH per transaction, with an invented document on every other case past
    intake when a blob store is given. The demo accounts must exist."""
    now = datetime.now(UTC)
    with transaction(factory) as db:
        cast = _cast(db, now)
        existing = int(
            db.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.team_id == cast.team_id, Case.source == "staff")
            )
            or 0
        )
        referred = _self_referral(db, keyring=keyring, cast=cast, now=now)
    people = PeopleMaker(seed)
    todo, added, made_tasks, made_documents = max(0, target - existing), 0, 0, 0
    while added < todo:
        with transaction(factory) as db:
            for _ in range(min(BATCH, todo - added)):
                n = existing + added
                case, stage = _one_case(db, keyring=keyring, cast=cast, people=people, n=n, now=now)
                if stage in (Stage.DOCUMENTATION, Stage.REFERRAL) and n % 2 == 0:
                    made_tasks += _task(db, keyring=keyring, cast=cast, case=case, n=n, now=now)
                if store is not None and stage is not Stage.INTAKE and n % 2 == 1:
                    _document(db, keyring=keyring, store=store, cast=cast, case=case, n=n, now=now)
                    made_documents += 1
                added += 1
        if on_progress is not None:
            on_progress(added, todo)
    return DemoReport(
        existing=existing,
        added=added,
        tasks=made_tasks,
        self_referral=referred,
        documents=made_documents,
    )
