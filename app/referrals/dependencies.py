"""What referral routes reach: a case to refer from or list, or one referral of a case,
each found within the caller's scope (app/policy/access.py) or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import CASE, REFERRAL, CaseAccess, ReferralAccess, Scoped
from app.policy.permissions import Permission

ReferralCreate = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.REFERRAL_WRITE))]
CaseReferrals = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.REFERRAL_READ))]
ReferralWrite = Annotated[ReferralAccess, Depends(Scoped(REFERRAL, Permission.REFERRAL_WRITE))]
ReferralRead = Annotated[ReferralAccess, Depends(Scoped(REFERRAL, Permission.REFERRAL_READ))]
