"""What account routes reach: an account the caller manages, or an access request they may
decide, each found within the caller's scope (app/policy/access.py) or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import (
    ACCESS_REQUEST,
    ACCOUNT,
    TEAM,
    USER,
    AccountAccess,
    RequestAccess,
    Scoped,
    TeamAccess,
    UserAccess,
)
from app.policy.permissions import Permission

UserRead = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_READ))]
UserWrite = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_UPDATE))]
UserUnlock = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_UNLOCK))]
UserSessions = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_END_SESSIONS))]
# A new one-time password is a way into the account: a fresh re-authentication first.
UserPasswordReset = Annotated[
    UserAccess, Depends(Scoped(USER, Permission.USER_UPDATE, reauth=True))
]
# Approving opens case content to someone: a fresh re-authentication first.
AccessRequestApprove = Annotated[
    RequestAccess,
    Depends(Scoped(ACCESS_REQUEST, Permission.ACCESS_REQUEST_APPROVE, reauth=True)),
]
AccessRequestReject = Annotated[
    RequestAccess, Depends(Scoped(ACCESS_REQUEST, Permission.ACCESS_REQUEST_REJECT))
]
TeamDirectory = Annotated[TeamAccess, Depends(Scoped(TEAM, Permission.TEAM_MEMBERS))]
# The auditor names who acted in the log: any account, name and role only.
LoggedActor = Annotated[AccountAccess, Depends(Scoped(ACCOUNT, Permission.AUDIT_READ))]
