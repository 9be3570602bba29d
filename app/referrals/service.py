"""The rules of partners and referrals: only with consent to share with that very partner,
only the fields ticked (and visible to the sender), and a packet sealed to the partner's key
when the referral is sent.

The stored packet is wrapped once more under the case key, so crypto-shredding the case
makes it unreadable even to someone holding the partner's private key and an old backup.
Services flush, never commit; each change writes its audit entry in the same transaction.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases.fields import ENCRYPTED_FIELDS
from app.cases.models import Case
from app.cases.values import Consent
from app.crypto.ciphertext import Ciphertext
from app.crypto.envelope import (
    OpenDataKey,
    decrypt_field,
    decrypt_text,
    encrypt_field,
    encrypt_text,
)
from app.crypto.keyring import Keyring
from app.db import moved_from
from app.errors import InvalidInput, NotFound
from app.policy.deps import Actor
from app.policy.permissions import Permission, Visibility, allows, visibility
from app.referrals import packet as packets
from app.referrals.errors import (
    PartnerExists,
    PartnerUnconfirmed,
    ReferralBlocked,
    ReferralNotSent,
    ReferralStatusNotAllowed,
    ShareConsentRequired,
)
from app.referrals.models import Partner, Referral
from app.referrals.rules import (
    NEXT,
    SHAREABLE_FIELDS,
    ReferralStatus,
    can_move,
    has_share_consent,
)

NOTE_FIELD = "referral_note"
PACKET_FIELD = "referral_packet"


def _referral_reason(ref: Referral, suffix: str = "") -> str:
    """Referral events are filed under their case (so an auditor's case filter finds them);
    the referral is named in the reason code."""
    return f"referral:{ref.id.hex}{suffix}"


# --- partners -------------------------------------------------------------------------


def create_partner(
    db: Session,
    *,
    actor: Actor,
    name: str,
    services: Sequence[str],
    countries: Sequence[str],
    public_key: str,
    now: datetime,
) -> Partner:
    """A partner organisation (names are unique; the key was validated by the schema)."""
    # Whoever may confirm a key vouches for the one they enter; an admin's waits for them.
    vouched = allows(actor.role, Permission.PARTNER_CONFIRM)
    partner = Partner(
        id=uuid.uuid4(),
        name=name,
        services=list(services),
        countries=list(countries),
        public_key=public_key,
        created_at=now,
        confirmed_at=now if vouched else None,
        confirmed_by=actor.id if vouched else None,
    )
    try:
        with db.begin_nested():
            db.add(partner)
            db.flush()
    except IntegrityError:
        raise PartnerExists() from None
    record(
        db,
        AuditAction.PARTNER_CREATED,
        by=actor,
        on=("partner", partner.id),
        fields=["name", "services", "countries", "public_key"],
    )
    return partner


def confirm_partner(
    db: Session, *, actor: Actor, partner_id: uuid.UUID, key_id: str, now: datetime
) -> Partner:
    """A coordinator vouches for a partner's key: `key_id` is the fingerprint the partner
    read out over another channel, and must be this key's (422 naming `key_id` otherwise)."""
    partner = db.get(Partner, partner_id)
    if partner is None:
        raise NotFound()
    expected = _key_id(partner)
    given = "".join(c for c in key_id.lower() if c in "0123456789abcdef")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InvalidInput("key_id", "does not match this partner's key: do not send to it")
    if partner.confirmed_at is None:
        partner.confirmed_at, partner.confirmed_by = now, actor.id
        db.flush()
        record(
            db,
            AuditAction.PARTNER_CONFIRMED,
            by=actor,
            on=("partner", partner.id),
            fields=["public_key"],
        )
    return partner


def _key_id(partner: Partner) -> str:
    """The fingerprint of the partner's key, as `haven partner keygen` prints it."""
    return packets.key_id(packets.decode_public_key(partner.public_key))


def list_partners(db: Session) -> list[Partner]:
    """Every partner, by name."""
    return list(db.scalars(select(Partner).order_by(Partner.name)))


def confirmed_partners(db: Session) -> list[Partner]:
    """The partners a referral may go to: those whose key a coordinator confirmed, by name."""
    return list(
        db.scalars(select(Partner).where(Partner.confirmed_at.is_not(None)).order_by(Partner.name))
    )


def consented_partners(db: Session, *, keyring: Keyring, case: Case) -> set[uuid.UUID]:
    """The partners the person has an active consent to share with (the form marks them;
    creating and sending check it again)."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    return {
        c.partner
        for c in _consents(case, dek)
        if c.partner is not None and has_share_consent([c], c.partner)
    }


def shareable_fields(actor: Actor) -> list[str]:
    """The case fields this actor may tick for a referral: the catalogue's shareable ones
    that the actor's role sees in full, in the catalogue's order."""
    return [f for f in SHAREABLE_FIELDS if visibility(actor.role, f) is Visibility.FULL]


def partner_view(partner: Partner) -> dict[str, Any]:
    """A partner as the API shows it, with the fingerprint of its key."""
    return {
        "id": str(partner.id),
        "name": partner.name,
        "services": list(partner.services),
        "countries": list(partner.countries),
        "public_key": partner.public_key,
        "key_id": _key_id(partner),
        "created_at": partner.created_at.isoformat(),
        "confirmed": partner.confirmed_at is not None,
    }


# --- referrals ------------------------------------------------------------------------


def _consents(case: Case, dek: OpenDataKey) -> list[Consent]:
    raw = rec.read(case, dek, ["consents"])["consents"] or []
    return [Consent.model_validate(c) for c in raw]


def _require_consent(case: Case, dek: OpenDataKey, partner_id: uuid.UUID) -> None:
    if not has_share_consent(_consents(case, dek), partner_id):
        raise ShareConsentRequired()


def _require_visible(actor: Actor, fields: Sequence[str]) -> None:
    hidden = [f for f in fields if visibility(actor.role, f) is not Visibility.FULL]
    if hidden:  # names from the shareable vocabulary only, never user text
        raise InvalidInput("fields", f"your role may not see {', '.join(sorted(hidden))}")


def create_referral(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    partner_id: uuid.UUID,
    fields: Sequence[str],
    note: str | None,
    now: datetime,
) -> Referral:
    """A draft referral of the chosen fields to a partner the person consented to."""
    if db.get(Partner, partner_id) is None:
        raise InvalidInput("partner_id", "no such partner")
    _require_visible(actor, fields)
    dek = rec.case_key(db, keyring=keyring, case=case)
    _require_consent(case, dek, partner_id)
    ref = Referral(
        id=uuid.uuid4(),
        case_id=case.id,
        partner_id=partner_id,
        status=ReferralStatus.DRAFT.value,
        fields=list(fields),
        created_by=actor.id,
        created_at=now,
        updated_at=now,
    )
    if note:
        ref.note = encrypt_text(dek, field=NOTE_FIELD, value=note, row_id=ref.id)
    db.add(ref)
    db.flush()
    shared = [*fields, "note"] if note else list(fields)
    record(
        db,
        AuditAction.REFERRAL_CREATED,
        by=actor,
        on=("case", case.id),
        fields=shared,
        reason=_referral_reason(ref),
    )
    return ref


def _note(dek: OpenDataKey, ref: Referral) -> str | None:
    if ref.note is None:
        return None
    return decrypt_text(dek, field=NOTE_FIELD, ciphertext=ref.note, row_id=ref.id)


def view(dek: OpenDataKey, ref: Referral, partner_name: str) -> dict[str, Any]:
    """A referral as the case team sees it (the note decrypted)."""
    return {
        "id": str(ref.id),
        "case_id": str(ref.case_id),
        "partner_id": str(ref.partner_id),
        "partner_name": partner_name,
        "status": ref.status,
        "blocked": ref.blocked,
        "fields": list(ref.fields),
        "note": _note(dek, ref),
        "has_packet": ref.packet is not None,
        "created_by": str(ref.created_by) if ref.created_by else None,
        "created_at": ref.created_at.isoformat(),
        "updated_at": ref.updated_at.isoformat(),
        "sent_at": ref.sent_at.isoformat() if ref.sent_at else None,
    }


def describe(db: Session, *, keyring: Keyring, case: Case, ref: Referral) -> dict[str, Any]:
    """One referral in the API shape."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    return view(dek, ref, db.get_one(Partner, ref.partner_id).name)


def list_referrals(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case
) -> list[dict[str, Any]]:
    """The case's referrals, oldest first; reading their notes is audited."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    rows = db.execute(
        select(Referral, Partner.name)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.case_id == case.id)
        .order_by(Referral.created_at, Referral.id)
    ).all()
    record(db, AuditAction.REFERRAL_LISTED, by=actor, on=("case", case.id), fields=["note"])
    return [view(dek, ref, name) for ref, name in rows]


def change_status(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    ref: Referral,
    status: ReferralStatus,
    now: datetime,
) -> Referral:
    """Move the referral on (draft -> sent -> accepted | declined; accepted -> completed);
    sending seals the packet to the partner's key."""
    current = ReferralStatus(ref.status)
    if not can_move(current, status):
        raise ReferralStatusNotAllowed(
            current=current.value, allowed=sorted(s.value for s in NEXT[current])
        )
    # Moved in the database only from the status this session read: of two moves at once
    # (two sends, an accept and a decline), the second is refused before anything is sealed.
    if not moved_from(db, ref, current.value, status=status.value, updated_at=now):
        stored = ReferralStatus(ref.status)
        raise ReferralStatusNotAllowed(
            current=stored.value, allowed=sorted(s.value for s in NEXT[stored])
        )
    if status is ReferralStatus.SENT:
        _seal(db, keyring=keyring, actor=actor, case=case, ref=ref, now=now)
    db.flush()
    record(
        db,
        AuditAction.REFERRAL_UPDATED,
        by=actor,
        on=("case", case.id),
        fields=["status"],
        reason=_referral_reason(ref, f":{current.value}->{status.value}"),
    )
    return ref


def packet_body(dek: OpenDataKey, *, case: Case, ref: Referral, partner: Partner) -> dict[str, Any]:
    """What the partner reads: the chosen fields (decrypted; null when not recorded), the case
    code and the note. Nothing else of the case."""
    chosen = list(ref.fields)
    encrypted = [f for f in chosen if f in ENCRYPTED_FIELDS]
    values = {**rec.plain(case), **rec.read(case, dek, encrypted)}
    return {
        "referral_id": str(ref.id),
        "case_code": case.case_code,
        "partner": partner.name,
        "fields": {name: values.get(name) for name in chosen},
        "note": _note(dek, ref),
    }


def _seal(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, ref: Referral, now: datetime
) -> None:
    if ref.blocked:
        raise ReferralBlocked()
    _require_visible(actor, ref.fields)
    dek = rec.case_key(db, keyring=keyring, case=case)
    _require_consent(case, dek, ref.partner_id)
    partner = db.get_one(Partner, ref.partner_id)
    if partner.confirmed_at is None:
        raise PartnerUnconfirmed()
    sealed = packets.seal_packet(
        recipient=packets.decode_public_key(partner.public_key),
        referral_id=str(ref.id),
        created_at=now,
        body=packet_body(dek, case=case, ref=ref, partner=partner),
    )
    ref.packet = encrypt_field(dek, field=PACKET_FIELD, value=sealed, row_id=ref.id).data
    ref.sent_at = now


def read_packet(db: Session, *, keyring: Keyring, actor: Actor, case: Case, ref: Referral) -> bytes:
    """The packet file's bytes, for the case team to pass to the partner (audited)."""
    if ref.packet is None:
        raise ReferralNotSent()
    if ref.blocked:
        raise ReferralBlocked()
    dek = rec.case_key(db, keyring=keyring, case=case)
    data = decrypt_field(dek, field=PACKET_FIELD, ciphertext=Ciphertext(ref.packet), row_id=ref.id)
    record(
        db,
        AuditAction.REFERRAL_PACKET_READ,
        by=actor,
        on=("case", case.id),
        fields=list(ref.fields),
        reason=_referral_reason(ref),
    )
    return data


def packet_filename(case: Case, ref: Referral) -> str:
    """A file name that says what the packet is without naming the person."""
    return f"referral-{case.case_code}-{ref.id.hex[:8]}.json"
