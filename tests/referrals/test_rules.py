"""Referral status moves and the share-consent rule."""

import uuid
from datetime import UTC, datetime

import pytest

from app.cases.values import Consent
from app.referrals.rules import ReferralStatus as S
from app.referrals.rules import active_purposes, can_move, has_share_consent

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        (S.DRAFT, S.SENT, True),
        (S.DRAFT, S.ACCEPTED, False),
        (S.SENT, S.ACCEPTED, True),
        (S.SENT, S.DECLINED, True),
        (S.ACCEPTED, S.COMPLETED, True),
        (S.DECLINED, S.COMPLETED, False),
        (S.COMPLETED, S.DRAFT, False),
        (S.SENT, S.DRAFT, False),
    ],
)
def test_status_moves(current: S, target: S, ok: bool) -> None:
    assert can_move(current, target) is ok


def _share(partner: uuid.UUID, withdrawn: bool = False) -> Consent:
    return Consent(
        purpose="share_with_partner",  # type: ignore[arg-type]
        partner=partner,
        legal_basis="consent",  # type: ignore[arg-type]
        given_at=NOW,
        withdrawn_at=NOW if withdrawn else None,
    )


def test_share_consent_is_per_partner_and_withdrawable() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert has_share_consent([_share(a)], a)
    assert not has_share_consent([_share(a)], b)
    assert not has_share_consent([_share(a, withdrawn=True)], a)
    assert active_purposes([_share(a, withdrawn=True)]) == set()
    assert active_purposes([_share(a)]) == {"share_with_partner"}
