"""What account routes reach: an account the caller manages, or an access request they may
decide, each found within the caller's scope (app/policy/access.py) or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import ACCESS_REQUEST, USER, RequestAccess, Scoped, UserAccess
from app.policy.permissions import Permission

UserRead = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_READ))]
UserWrite = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_UPDATE))]
UserUnlock = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_UNLOCK))]
UserSessions = Annotated[UserAccess, Depends(Scoped(USER, Permission.USER_END_SESSIONS))]
# Approving opens case content to someone: a fresh re-authentication first.
AccessRequestApprove = Annotated[
    RequestAccess,
    Depends(Scoped(ACCESS_REQUEST, Permission.ACCESS_REQUEST_APPROVE, reauth=True)),
]
AccessRequestReject = Annotated[
    RequestAccess, Depends(Scoped(ACCESS_REQUEST, Permission.ACCESS_REQUEST_REJECT))
]
