"""The stage machine: the gates name what is missing, and only allowed moves exist."""

import pytest

from app.cases.stages import GateFacts, allowed_targets, missing_for
from app.cases.vocab import Stage


def test_documentation_needs_store_consent_and_risk() -> None:
    assert missing_for(Stage.DOCUMENTATION, GateFacts()) == [
        "consents: recorded consent (or legal basis) to store",
        "risk_level",
    ]
    ready = GateFacts(risk_level="high", active_consents=("store",))
    assert missing_for(Stage.DOCUMENTATION, ready) == []


def test_contact_consent_alone_does_not_open_documentation() -> None:
    facts = GateFacts(risk_level="low", active_consents=("contact",))
    assert missing_for(Stage.DOCUMENTATION, facts) == [
        "consents: recorded consent (or legal basis) to store"
    ]


def test_referral_needs_a_need() -> None:
    assert missing_for(Stage.REFERRAL, GateFacts()) == ["needs: at least one documented need"]
    assert missing_for(Stage.REFERRAL, GateFacts(needs=("legal",))) == []


def test_follow_up_needs_a_sent_referral() -> None:
    assert missing_for(Stage.FOLLOW_UP, GateFacts()) == ["referrals: a referral that was sent"]
    assert missing_for(Stage.FOLLOW_UP, GateFacts(sent_referrals=1)) == []


def test_closure_needs_outcome_and_note() -> None:
    assert missing_for(Stage.CLOSED, GateFacts()) == ["outcome", "closing_note"]
    assert missing_for(Stage.CLOSED, GateFacts(outcome="x", closing_note="y")) == []


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (Stage.INTAKE, {Stage.DOCUMENTATION, Stage.CLOSED}),
        (Stage.DOCUMENTATION, {Stage.REFERRAL, Stage.CLOSED}),
        (Stage.REFERRAL, {Stage.FOLLOW_UP, Stage.CLOSED}),
        (Stage.FOLLOW_UP, {Stage.CLOSED}),
    ],
)
def test_moves_go_one_step_on_or_to_closure(current: Stage, expected: set[Stage]) -> None:
    assert allowed_targets(current, can_reopen=True) == expected


def test_only_a_reopener_may_leave_closed() -> None:
    assert allowed_targets(Stage.CLOSED, can_reopen=False) == set()
    back = allowed_targets(Stage.CLOSED, can_reopen=True, closed_from=Stage.REFERRAL)
    assert back == {Stage.REFERRAL}
