"""Referral statuses and the consent a referral needs."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable

from app.cases import fields
from app.cases.values import Consent
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


# The case fields a referral may carry are the catalogue's `shareable` ones (left out on
# purpose, there: internal bookkeeping, the organisation's own judgements and records, and
# `movement`, which must not outlive its destroy-after date).
SHAREABLE_FIELDS: tuple[str, ...] = fields.SHAREABLE_FIELDS


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
