"""The case record's controlled vocabularies (docs/api.md names; stored as these strings)."""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    """Where a case is in its life."""

    INTAKE = "intake"
    DOCUMENTATION = "documentation"
    REFERRAL = "referral"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


class RiskLevel(enum.StrEnum):
    """How much danger the person is in."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Situation(enum.StrEnum):
    """How the person left or refused service (a reportable dimension)."""

    DESERTED = "deserted"
    AWOL = "awol"
    EVADING_MOBILISATION = "evading_mobilisation"
    REFUSED_SERVICE = "refused_service"
    CONSCIENTIOUS_OBJECTOR = "conscientious_objector"
    OTHER = "other"


class Need(enum.StrEnum):
    """Kinds of help (a reportable dimension)."""

    LEGAL = "legal"
    ASYLUM = "asylum"
    VISA = "visa"
    SHELTER = "shelter"
    EVACUATION = "evacuation"
    MEDICAL = "medical"
    PSYCHOLOGICAL = "psychological"
    FINANCIAL = "financial"
    DOCUMENTS = "documents"


class OutcomeKind(enum.StrEnum):
    """How a closed case ended, in one word (a reportable dimension; the story stays in the
    encrypted `outcome` and `closing_note`)."""

    PROTECTION_GRANTED = "protection_granted"
    SAFE_RELOCATION = "safe_relocation"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    DECLINED_HELP = "declined_help"
    CONTACT_LOST = "contact_lost"
    OTHER = "other"


class ServiceStatus(enum.StrEnum):
    """The person's relation to the armed forces."""

    CONSCRIPT = "conscript"
    MOBILISED = "mobilised"
    CONTRACT = "contract"
    OFFICER = "officer"
    RESERVIST = "reservist"
    CIVILIAN = "civilian"


class ContactChannel(enum.StrEnum):
    """How a person can be reached."""

    SIGNAL = "signal"
    TELEGRAM = "telegram"
    PHONE = "phone"
    EMAIL = "email"
    OTHER = "other"


class WantedStatus(enum.StrEnum):
    """Whether the person is on a wanted list, and whose."""

    UNKNOWN = "unknown"
    NONE = "none"
    NATIONAL = "national"
    INTERSTATE = "interstate"


class DocumentType(enum.StrEnum):
    """Identity documents a person may hold."""

    INTERNAL_PASSPORT = "internal_passport"
    FOREIGN_PASSPORT = "foreign_passport"
    MILITARY_ID = "military_id"
    OTHER = "other"


# Case.source of a request sent through the public form (app/intake): it waits to be judged.
SELF_REFERRAL = "self_referral"


class VettingStatus(enum.StrEnum):
    """Whether a request is judged genuine."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    SUSPICIOUS = "suspicious"


class ConsentPurpose(enum.StrEnum):
    """What a consent covers."""

    STORE = "store"
    SHARE_WITH_PARTNER = "share_with_partner"
    CONTACT = "contact"
    USE_STORY = "use_story"


class LegalBasis(enum.StrEnum):
    """The GDPR article 6/9 ground a processing purpose rests on."""

    CONSENT = "consent"
    VITAL_INTEREST = "vital_interest"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"
