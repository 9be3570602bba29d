"""Granting case content takes two people: an admin asks, a coordinator of the team approves.

A change grants case content when it gives an account a case role (coordinator, caseworker)
it did not have, promotes a caseworker to coordinator, or adds a team to an account with a
case role. Such a change is never applied by the admin who asks for it: it becomes a pending
`AccessRequest` that a coordinator of every team it opens approves (after re-authentication)
or rejects. Changes that only take access away apply at once. Every step is audited, naming
the team ids (ids are not personal data).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.db import moved_from
from app.errors import Conflict, InvalidInput
from app.policy.deps import Actor, denied
from app.policy.permissions import CASE_ROLES, Role
from app.policy.scope import request_visible_to
from app.security import sessions
from app.security.errors import ApproverNotEntitled, OwnAccessChange
from app.users.models import AccessRequest, Team, TeamMembership, User
from app.users.service import issue_one_time_password, set_role, team_ids_of

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


def opened_teams(
    *,
    old_role: Role,
    new_role: Role,
    old_teams: Iterable[uuid.UUID],
    new_teams: Iterable[uuid.UUID],
) -> frozenset[uuid.UUID] | None:
    """The teams whose case content a change newly opens (maybe none), or None when the change
    grants no case content at all."""
    old, new = frozenset(old_teams), frozenset(new_teams)
    if new_role not in CASE_ROLES:
        return None
    promoted = old_role not in CASE_ROLES or (
        old_role is Role.CASEWORKER and new_role is Role.COORDINATOR
    )
    if promoted:
        return new
    return (new - old) or None


def write_memberships(
    db: Session, *, actor: Actor | None, user: User, team_ids: Iterable[uuid.UUID]
) -> None:
    """Set a user's teams, one audit entry per team added or removed (naming its id)."""
    wanted, current = set(team_ids), set(team_ids_of(db, user.id))
    if wanted == current:
        return
    removed, added = current - wanted, wanted - current
    if removed:
        db.execute(
            delete(TeamMembership).where(
                TeamMembership.user_id == user.id, TeamMembership.team_id.in_(removed)
            )
        )
    db.add_all(TeamMembership(user_id=user.id, team_id=t) for t in added)
    db.flush()
    for verb, ids in (("removed", removed), ("added", added)):
        for team_id in sorted(ids, key=str):
            record(
                db,
                AuditAction.USER_TEAMS_CHANGED,
                by=actor,
                on=("user", user.id),
                fields=["teams"],
                reason=f"{verb}:{team_id}",
            )


def check_teams_exist(db: Session, team_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The ids, when every one names a team; 422 otherwise."""
    wanted = set(team_ids)
    known = set(db.scalars(select(Team.id).where(Team.id.in_(wanted)))) if wanted else set()
    if known != wanted:
        raise InvalidInput("teams", "names a team that does not exist")
    return wanted


def _check_requestable(db: Session, user: User, opened: frozenset[uuid.UUID]) -> None:
    if not opened:
        raise InvalidInput("teams", "a role that sees case content needs a team to approve it")
    pending = select(AccessRequest.id).where(
        AccessRequest.user_id == user.id, AccessRequest.status == PENDING
    )
    if db.scalars(pending).first() is not None:
        raise Conflict("This account already has a pending access request.")


def request_access(
    db: Session,
    *,
    actor: Actor,
    user: User,
    role: Role,
    team_ids: Iterable[uuid.UUID],
    now: datetime,
    new_account: bool = False,
) -> AccessRequest:
    """Record a pending grant of case content (role and whole team set) for approval."""
    teams = check_teams_exist(db, team_ids)
    opened = opened_teams(
        old_role=Role(user.role),
        new_role=role,
        old_teams=[] if new_account else team_ids_of(db, user.id),
        new_teams=teams,
    )
    if opened is None:
        raise InvalidInput("role", "this change grants no case content: apply it directly")
    _check_requestable(db, user, opened)
    req = AccessRequest(
        user_id=user.id,
        role=role.value,
        team_ids=sorted(str(t) for t in teams),
        grant_team_ids=sorted(str(t) for t in opened),
        new_account=new_account,
        status=PENDING,
        requested_by=actor.id,
        requested_at=now,
    )
    db.add(req)
    db.flush()
    record(
        db,
        AuditAction.ACCESS_REQUESTED,
        by=actor,
        on=("user", user.id),
        fields=["role", "teams"],
        reason=f"request:{req.id}",
    )
    return req


def pending_for(db: Session, actor: Actor) -> list[AccessRequest]:
    """The pending requests the actor may see, oldest first."""
    rows = db.scalars(
        select(AccessRequest)
        .where(AccessRequest.status == PENDING)
        .order_by(AccessRequest.requested_at)
    )
    return [r for r in rows if request_visible_to(actor, r)]


def _claim(db: Session, req: AccessRequest, *, status: str, actor: Actor, now: datetime) -> None:
    """Decide the request in the database only if it is still pending there (not as this
    session read it): of two coordinators deciding at once, the second is refused before
    anything is applied."""
    if not moved_from(db, req, PENDING, status=status, decided_by=actor.id, decided_at=now):
        raise Conflict("This request was already decided.")


def _decidable(db: Session, req: AccessRequest) -> User:
    if req.status != PENDING:
        raise Conflict("This request was already decided.")
    user = db.get(User, req.user_id)
    if user is None:  # pragma: no cover - the request is deleted with its account
        raise Conflict("The account no longer exists.")
    return user


def approve(db: Session, *, actor: Actor, req: AccessRequest, now: datetime) -> str | None:
    """Apply a pending grant; returns a new one-time password when the account has not
    enrolled TOTP yet (shown to the approving coordinator only: the admin never holds it)."""
    user = _decidable(db, req)
    teams = {uuid.UUID(t) for t in req.team_ids} & set(
        db.scalars(select(Team.id).where(Team.id.in_([uuid.UUID(t) for t in req.team_ids])))
    )
    # Checked against the account as it is now: what approving would open must all be the
    # approver's teams, whatever changed since the request was made.
    opened = opened_teams(
        old_role=Role(user.role),
        new_role=Role(req.role),
        old_teams=[] if req.new_account else team_ids_of(db, user.id),
        new_teams=teams,
    )
    named = {uuid.UUID(t) for t in req.grant_team_ids}
    if actor.id in (user.id, req.requested_by) or not (opened or set()) <= (named & actor.team_ids):
        # Separation of duties refused: recorded, as an attempt on one's own access is.
        raise denied(
            db, actor, reason="approver_not_entitled", on=("user", user.id),
            error=ApproverNotEntitled(),
        )  # fmt: skip
    _claim(db, req, status=APPROVED, actor=actor, now=now)
    if user.role != req.role:
        user.role = req.role
        record(db, AuditAction.USER_ROLE_CHANGED, by=actor, on=("user", user.id), fields=["role"])
    write_memberships(db, actor=actor, user=user, team_ids=teams)
    sessions.end_for_user(db, user.id)
    password = None
    # Not yet enrolled: whoever knows the current password (the admin who made the account)
    # could enrol TOTP first and hold both factors, so the password is replaced.
    if req.new_account or user.totp_enrolled_at is None:
        password = issue_one_time_password(user, now=now)
    record(
        db,
        AuditAction.ACCESS_APPROVED,
        by=actor,
        on=("user", user.id),
        fields=["role", "teams"],
        reason=f"request:{req.id}",
    )
    db.flush()
    return password


def reject(db: Session, *, actor: Actor, req: AccessRequest, now: datetime) -> None:
    """Refuse (coordinator) or withdraw (admin) a pending grant; nothing is applied."""
    user = _decidable(db, req)
    _claim(db, req, status=REJECTED, actor=actor, now=now)
    record(
        db, AuditAction.ACCESS_REJECTED, by=actor, on=("user", user.id), reason=f"request:{req.id}"
    )
    db.flush()


def refuse_own_access_change(db: Session, *, actor: Actor, user: User) -> None:
    """No one changes their own role or teams (separation of duties): the attempt is refused
    and recorded as a denied access, from the API and the pages alike."""
    if user.id == actor.id:
        raise denied(
            db, actor, reason="own_access_change", on=("user", user.id), error=OwnAccessChange()
        )


def change_access(
    db: Session,
    *,
    actor: Actor,
    user: User,
    role: Role,
    team_ids: Iterable[uuid.UUID],
    now: datetime,
) -> AccessRequest | None:
    """Change an account's role and teams: what only takes access away applies at once; what
    grants case content becomes a pending request (returned) for a coordinator to approve."""
    teams = check_teams_exist(db, team_ids)
    old_role, old_teams = Role(user.role), set(team_ids_of(db, user.id))
    opened = opened_teams(old_role=old_role, new_role=role, old_teams=old_teams, new_teams=teams)
    if opened is None:
        set_role(db, actor=actor, user=user, role=role)
        write_memberships(db, actor=actor, user=user, team_ids=teams)
        return None
    _check_requestable(db, user, opened)  # before anything is applied
    if old_role is Role.COORDINATOR and role is Role.CASEWORKER:
        set_role(db, actor=actor, user=user, role=role)  # a demotion needs no approval
    write_memberships(db, actor=actor, user=user, team_ids=old_teams & teams)
    return request_access(db, actor=actor, user=user, role=role, team_ids=teams, now=now)


def pending_for_user(db: Session, actor: Actor, user_id: uuid.UUID) -> list[AccessRequest]:
    """The pending requests about one account that the actor may see, oldest first."""
    rows = db.scalars(
        select(AccessRequest)
        .where(AccessRequest.status == PENDING, AccessRequest.user_id == user_id)
        .order_by(AccessRequest.requested_at)
    )
    return [r for r in rows if request_visible_to(actor, r)]
