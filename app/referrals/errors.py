"""Referral and partner errors, as values with a code (docs/style.md rule 9)."""

from __future__ import annotations

from app.errors import Conflict


class ShareConsentRequired(Conflict):
    """409: no active consent to share with exactly this partner is recorded on the case."""

    code = "share_consent_required"
    message = "The person has not consented to sharing with this partner (record it first)."


class ReferralBlocked(Conflict):
    """409: share consent was withdrawn while the referral was pending; it cannot go out."""

    code = "referral_blocked"
    message = "Consent to share with this partner was withdrawn; the referral is blocked."


class ReferralStatusNotAllowed(Conflict):
    """409: no such status change from the current status; `allowed` lists the possible ones."""

    code = "referral_status_not_allowed"
    message = "The referral cannot move to that status from its current one."


class ReferralNotSent(Conflict):
    """409: a packet exists only once the referral was sent."""

    code = "referral_not_sent"
    message = "The referral has not been sent, so it has no packet yet."


class PartnerExists(Conflict):
    """409: partner names are unique."""

    code = "partner_exists"
    message = "A partner with that name already exists."


class PartnerUnconfirmed(Conflict):
    """409: no coordinator has vouched for this partner's key yet."""

    code = "partner_unconfirmed"
    message = (
        "No coordinator has confirmed this partner's key yet: compare its fingerprint with "
        "the partner over another channel, then confirm it."
    )
