"""What case routes reach, declared in their signatures (app/policy/access.py): each alias is
a permission and the case it applies to, found within the caller's scope or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import ANY_CASE, CASE, CaseAccess, Scoped
from app.policy.permissions import Permission

CaseRead = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_READ))]
CaseWrite = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_UPDATE))]
CaseHistory = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_HISTORY))]
CaseTransition = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_TRANSITION))]
CaseAssign = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_ASSIGN))]
# Subject-access export and erasure ask for a fresh re-authentication.
CaseExport = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_EXPORT, reauth=True))]
CaseErase = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_ERASE, reauth=True))]
# Break-glass reaches a case outside the scope: that is what it is for.
CaseBreakGlass = Annotated[
    CaseAccess, Depends(Scoped(ANY_CASE, Permission.CASE_BREAK_GLASS, reauth=True))
]
# Setting or lifting a legal hold: coordinators of the case's team.
CaseLegalHold = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_LEGAL_HOLD))]
