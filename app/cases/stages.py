"""The stage machine and its gates: each refused move names everything that is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.cases.vocab import ConsentPurpose, Stage

ORDER = (Stage.INTAKE, Stage.DOCUMENTATION, Stage.REFERRAL, Stage.FOLLOW_UP, Stage.CLOSED)


@dataclass(frozen=True)
class GateFacts:
    """What the gates look at, gathered (and decrypted) by the case service."""

    risk_level: str | None = None
    active_consents: Sequence[str] = field(default_factory=tuple)
    needs: Sequence[str] = field(default_factory=tuple)
    sent_referrals: int = 0
    outcome: str | None = None
    closing_note: str | None = None


def allowed_targets(
    current: Stage, *, can_reopen: bool, closed_from: Stage | None = None
) -> set[Stage]:
    """Stages reachable from current: one step on, closure from anywhere, and from closed
    (for a reopener) back to the stage the case was closed from."""
    if current is Stage.CLOSED:
        return {closed_from or Stage.INTAKE} if can_reopen else set()
    nxt = ORDER[ORDER.index(current) + 1]
    return {nxt, Stage.CLOSED}


def missing_for(target: Stage, facts: GateFacts) -> list[str]:
    """What must be recorded before a case may enter target (empty when the gate opens)."""
    missing: list[str] = []
    if target is Stage.DOCUMENTATION:
        if ConsentPurpose.STORE.value not in facts.active_consents:
            missing.append("consents: recorded consent (or legal basis) to store")
        if not facts.risk_level:
            missing.append("risk_level")
    elif target is Stage.REFERRAL:
        if not facts.needs:
            missing.append("needs: at least one documented need")
    elif target is Stage.FOLLOW_UP:
        if facts.sent_referrals < 1:
            missing.append("referrals: a referral that was sent")
    elif target is Stage.CLOSED:
        if not facts.outcome:
            missing.append("outcome")
        if not facts.closing_note:
            missing.append("closing_note")
    return missing
