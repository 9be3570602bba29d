"""How the case vocabularies read on a page, in the page's language (the stored values stay
the API's names): every vocabulary and every field of the case record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.cases.vocab import (
    ConsentPurpose,
    ContactChannel,
    DocumentType,
    LegalBasis,
    Need,
    OutcomeKind,
    RiskLevel,
    ServiceStatus,
    Situation,
    Stage,
    VettingStatus,
    WantedStatus,
)
from app.i18n import LazyText, lazy

CONTACT_CHANNELS: dict[ContactChannel, LazyText] = {
    # Product names stay as they are; the catalog may still adapt them (e.g. transliterate).
    ContactChannel.SIGNAL: lazy("Signal"),
    ContactChannel.TELEGRAM: lazy("Telegram"),
    ContactChannel.PHONE: lazy("Phone call or SMS"),
    ContactChannel.EMAIL: lazy("E-mail"),
    ContactChannel.OTHER: lazy("Another way"),
}


def channel_choices() -> list[tuple[str, LazyText]]:
    """(value, label) pairs for a contact channel `<select>`, in the vocabulary's order."""
    return [(channel.value, CONTACT_CHANNELS[channel]) for channel in ContactChannel]


STAGES: dict[Stage, LazyText] = {
    Stage.INTAKE: lazy("Intake"),
    Stage.DOCUMENTATION: lazy("Documentation"),
    Stage.REFERRAL: lazy("Referral"),
    Stage.FOLLOW_UP: lazy("Follow-up"),
    Stage.CLOSED: lazy("Closed"),
}
RISK_LEVELS: dict[RiskLevel, LazyText] = {
    RiskLevel.LOW: lazy("Low risk"),
    RiskLevel.MEDIUM: lazy("Medium risk"),
    RiskLevel.HIGH: lazy("High risk"),
    RiskLevel.CRITICAL: lazy("Critical risk"),
}
SITUATIONS: dict[Situation, LazyText] = {
    Situation.DESERTED: lazy("Deserted"),
    Situation.AWOL: lazy("Absent without leave"),
    Situation.EVADING_MOBILISATION: lazy("Evading mobilisation"),
    Situation.REFUSED_SERVICE: lazy("Refused to serve"),
    Situation.CONSCIENTIOUS_OBJECTOR: lazy("Conscientious objector"),
    Situation.OTHER: lazy("Other situation"),
}
NEEDS: dict[Need, LazyText] = {
    Need.LEGAL: lazy("Legal help"),
    Need.ASYLUM: lazy("Asylum"),
    Need.VISA: lazy("Visa"),
    Need.SHELTER: lazy("Shelter"),
    Need.EVACUATION: lazy("Evacuation"),
    Need.MEDICAL: lazy("Medical care"),
    Need.PSYCHOLOGICAL: lazy("Psychological support"),
    Need.FINANCIAL: lazy("Money"),
    Need.DOCUMENTS: lazy("Documents"),
}
OUTCOME_KINDS: dict[OutcomeKind, LazyText] = {
    OutcomeKind.PROTECTION_GRANTED: lazy("Protection granted"),
    OutcomeKind.SAFE_RELOCATION: lazy("Moved to safety"),
    OutcomeKind.REFERRED_ELSEWHERE: lazy("Referred to another organisation"),
    OutcomeKind.DECLINED_HELP: lazy("Declined further help"),
    OutcomeKind.CONTACT_LOST: lazy("Contact lost"),
    OutcomeKind.OTHER: lazy("Other outcome"),
}
SERVICE_STATUSES: dict[ServiceStatus, LazyText] = {
    ServiceStatus.CONSCRIPT: lazy("Conscript"),
    ServiceStatus.MOBILISED: lazy("Mobilised"),
    ServiceStatus.CONTRACT: lazy("Contract soldier"),
    ServiceStatus.OFFICER: lazy("Officer"),
    ServiceStatus.RESERVIST: lazy("Reservist"),
    ServiceStatus.CIVILIAN: lazy("Civilian"),
}
WANTED_STATUSES: dict[WantedStatus, LazyText] = {
    WantedStatus.UNKNOWN: lazy("Not known"),
    WantedStatus.NONE: lazy("Not wanted"),
    WantedStatus.NATIONAL: lazy("On the national wanted list"),
    WantedStatus.INTERSTATE: lazy("On an interstate wanted list"),
}
DOCUMENT_TYPES: dict[DocumentType, LazyText] = {
    DocumentType.INTERNAL_PASSPORT: lazy("Internal passport"),
    DocumentType.FOREIGN_PASSPORT: lazy("Passport for travel abroad"),
    DocumentType.MILITARY_ID: lazy("Military ID"),
    DocumentType.OTHER: lazy("Another document"),
}
VETTING_STATUSES: dict[VettingStatus, LazyText] = {
    VettingStatus.UNVERIFIED: lazy("Not yet checked"),
    VettingStatus.VERIFIED: lazy("Checked: genuine"),
    VettingStatus.SUSPICIOUS: lazy("Suspicious"),
}
CONSENT_PURPOSES: dict[ConsentPurpose, LazyText] = {
    ConsentPurpose.STORE: lazy("Keep the record"),
    ConsentPurpose.SHARE_WITH_PARTNER: lazy("Share with a partner"),
    ConsentPurpose.CONTACT: lazy("Contact the person"),
    ConsentPurpose.USE_STORY: lazy("Use the story"),
}
LEGAL_BASES: dict[LegalBasis, LazyText] = {
    LegalBasis.CONSENT: lazy("Consent"),
    LegalBasis.VITAL_INTEREST: lazy("Vital interest"),
    LegalBasis.LEGITIMATE_INTEREST: lazy("Legitimate interest"),
    LegalBasis.LEGAL_OBLIGATION: lazy("Legal obligation"),
}

# Every field of the case record (app/cases/fields.py), as a form or a page names it.
FIELDS: dict[str, LazyText] = {
    "id": lazy("Case id"),
    "case_code": lazy("Case code"),
    "stage": lazy("Stage"),
    "risk_level": lazy("Risk level"),
    "team": lazy("Team"),
    "assigned_to": lazy("Caseworker"),
    "created_at": lazy("Opened"),
    "updated_at": lazy("Last changed"),
    "version": lazy("Version"),
    "citizenship": lazy("Citizenship"),
    "current_country": lazy("Country now"),
    "situation": lazy("Situation"),
    "needs": lazy("Needs"),
    "source": lazy("Came through"),
    "legal_hold": lazy("Legal hold"),
    "legal_name": lazy("Legal name"),
    "aliases": lazy("Other names and spellings"),
    "date_of_birth": lazy("Date of birth"),
    "languages": lazy("Languages"),
    "current_city": lazy("City now"),
    "contacts": lazy("Contacts"),
    "service_status": lazy("Service status"),
    "unit": lazy("Military unit"),
    "left_service_on": lazy("Left the service on"),
    "criminal_case": lazy("Criminal case"),
    "wanted": lazy("Wanted list"),
    "documents_held": lazy("Documents held"),
    "family": lazy("Family and dependants"),
    "risk_flags": lazy("Risk flags"),
    "vetting": lazy("Vetting"),
    "consents": lazy("Consents"),
    "protection": lazy("Protection"),
    "movement": lazy("Movement plan"),
    "intake_notes": lazy("Interview notes"),
    "outcome": lazy("Outcome"),
    "outcome_kind": lazy("Kind of outcome"),
    "closing_note": lazy("Closing note"),
}


def label(labels: Mapping[Any, LazyText], value: str | None) -> LazyText | str:
    """A stored vocabulary value as a page names it (empty for None, unknown as stored)."""
    if value is None:
        return ""
    for key, text in labels.items():
        if key == value:
            return text
    return value


def choices(labels: Mapping[Any, LazyText]) -> list[tuple[str, LazyText]]:
    """(value, label) pairs for a `<select>` or check boxes, in the vocabulary's order."""
    return [(str(key), text) for key, text in labels.items()]


# A test holds FIELDS to the catalogue: a new field gets its label here.
