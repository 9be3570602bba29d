"""Referral statuses and the consent a referral needs."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable

from app.cases.schemas import Consent
from app.cases.vocab import ConsentPurpose


class ReferralStatus(enum.StrEnum):
    """draft -> sent -> accepted | declined; accepted -> completed."""

    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"


NEXT: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.DRAFT: frozenset({ReferralStatus.SENT}),
    ReferralStatus.SENT: frozenset({ReferralStatus.ACCEPTED, ReferralStatus.DECLINED}),
    ReferralStatus.ACCEPTED: frozenset({ReferralStatus.COMPLETED}),
    ReferralStatus.DECLINED: frozenset(),
    ReferralStatus.COMPLETED: frozenset(),
}

# Counts as "a referral that was sent" for the follow_up gate.
WAS_SENT = frozenset(
    {
        ReferralStatus.SENT,
        ReferralStatus.ACCEPTED,
        ReferralStatus.DECLINED,
        ReferralStatus.COMPLETED,
    }
)


# Case fields a referral may carry (docs/api.md names). Left out on purpose: internal
# bookkeeping (ids, team, assignee, stage, version, timestamps, source), the organisation's
# own judgements and records (vetting, consents, intake_notes, outcome,
# closing_note: what the partner needs goes in the referral's note), and `movement`, which
# must not outlive its destroy-after date and so never leaves Haven.
SHAREABLE_FIELDS: tuple[str, ...] = (
    "legal_name",
    "aliases",
    "date_of_birth",
    "languages",
    "citizenship",
    "current_country",
    "current_city",
    "contacts",
    "situation",
    "service_status",
    "unit",
    "left_service_on",
    "criminal_case",
    "wanted",
    "documents_held",
    "family",
    "needs",
    "risk_level",
    "risk_flags",
    "protection",
)


def can_move(current: ReferralStatus, target: ReferralStatus) -> bool:
    """Whether a referral may go from current to target."""
    return target in NEXT[current]


def has_share_consent(consents: Iterable[Consent], partner_id: uuid.UUID) -> bool:
    """True when an active consent to share with exactly this partner is recorded."""
    return any(
        c.purpose is ConsentPurpose.SHARE_WITH_PARTNER and c.partner == partner_id and c.active
        for c in consents
    )


def active_purposes(consents: Iterable[Consent]) -> set[str]:
    """The purposes with an active (not withdrawn) consent."""
    return {c.purpose.value for c in consents if c.active}
