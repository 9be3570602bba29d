"""Scope: which cases (and accounts) an actor may reach. Out of scope answers 404, never 403.

Coordinators reach their teams' cases, caseworkers the cases assigned to them, and either
reaches a case they opened by break-glass while the grant lives, but only to read it
(`BREAK_GLASS_READS`): every scope here takes the permission asked for, and without one a
grant reaches nothing (fail closed). Volunteers reach cases only through their tasks; admins
and auditors reach no case at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from app.cases.models import BreakGlassGrant, Case
from app.db import utcnow
from app.deps import DbSession
from app.documents.models import Document
from app.errors import NotFound
from app.policy.deps import Actor, Requirement, deny
from app.policy.permissions import BREAK_GLASS_READS, Permission, Role
from app.referrals.models import Referral
from app.tasks.models import Task
from app.users.models import AccessRequest, TeamMembership, User


@dataclass(frozen=True)
class ScopeMarker:
    """Tells the route-matrix test which path parameter a dependency resolves, and whether
    an object outside the actor's scope answers 404 (enforced) or is reachable (break-glass)."""

    resource: str
    param: str
    enforced: bool


def live_grant(actor_id: uuid.UUID, *, now: datetime) -> ColumnElement[bool]:
    """True for cases the actor holds a live break-glass grant on."""
    return exists().where(
        BreakGlassGrant.case_id == Case.id,
        BreakGlassGrant.actor_id == actor_id,
        BreakGlassGrant.expires_at > now,
    )


def grant_reaches(permission: Permission | None) -> bool:
    """Whether a live break-glass grant reaches a case for this permission (reads only)."""
    return permission in BREAK_GLASS_READS


def case_scope(
    actor: Actor, *, now: datetime, permission: Permission | None = None
) -> ColumnElement[bool]:
    """The WHERE clause selecting the cases actor may act on with permission: the team's or
    assigned cases, plus cases under a live grant when permission is a read."""
    if actor.role is Role.COORDINATOR:
        own: ColumnElement[bool] = Case.team_id.in_(actor.team_ids) if actor.team_ids else false()
    elif actor.role is Role.CASEWORKER:
        own = Case.assigned_to == actor.id
    else:
        return false()
    if not grant_reaches(permission):
        return own
    return or_(own, live_grant(actor.id, now=now))


def readable_cases(
    actor: Actor, permission: Permission | None = None, *, now: datetime | None = None
) -> Select[Case]:
    """SELECT of the cases actor may act on with permission; every case lookup goes through
    this. Without a permission (or with a write) a break-glass grant reaches nothing."""
    return select(Case).where(case_scope(actor, now=now or utcnow(), permission=permission))


def task_scope(
    actor: Actor, *, now: datetime, permission: Permission | None = None
) -> ColumnElement[bool]:
    """The WHERE clause selecting the tasks actor may reach: a volunteer their own, the case
    team the tasks of cases in their scope (for permission), nobody else any."""
    if actor.role is Role.VOLUNTEER:
        return Task.assigned_to == actor.id
    if actor.role in (Role.COORDINATOR, Role.CASEWORKER):
        cases = select(Case.id).where(case_scope(actor, now=now, permission=permission))
        return Task.case_id.in_(cases)
    return false()


def readable_tasks(
    actor: Actor, permission: Permission | None = None, *, now: datetime | None = None
) -> Select[Task]:
    """SELECT of the tasks actor may reach with permission; every task lookup goes through
    this (without a permission, none under a break-glass grant)."""
    return select(Task).where(task_scope(actor, now=now or utcnow(), permission=permission))


def _denial(db: Session, actor: Actor, case_id: uuid.UUID | None, now: datetime) -> str:
    """The audit reason of a 404: `break_glass_read_only` when a live grant exists on the case
    but the permission is a write (the answer stays the same 404)."""
    if case_id is None:
        return "out_of_scope"
    held = db.scalar(
        select(BreakGlassGrant.id).where(
            BreakGlassGrant.case_id == case_id,
            BreakGlassGrant.actor_id == actor.id,
            BreakGlassGrant.expires_at > now,
        )
    )
    return "break_glass_read_only" if held is not None else "out_of_scope"


def break_glass_review_scope(actor: Actor) -> ColumnElement[bool]:
    """Which break-glass grants actor reviews (joined to Case): auditors all, coordinators
    those on their teams' cases, nobody else any."""
    if actor.role is Role.AUDITOR:
        return true()
    if actor.role is Role.COORDINATOR and actor.team_ids:
        return Case.team_id.in_(actor.team_ids)
    return false()


def manageable_users(actor: Actor) -> Select[User]:
    """SELECT of the accounts actor may manage: admins all, coordinators their teams' members."""
    if actor.role is Role.ADMIN:
        return select(User)
    if actor.role is Role.COORDINATOR and actor.team_ids:
        member = exists().where(
            and_(TeamMembership.user_id == User.id, TeamMembership.team_id.in_(actor.team_ids))
        )
        return select(User).where(member)
    return select(User).where(false())


@dataclass(frozen=True)
class CaseAccess:
    """A case the actor may act on, with the actor."""

    actor: Actor
    case: Case


@dataclass(frozen=True)
class DocumentAccess:
    """A document of a case the actor may act on."""

    actor: Actor
    case: Case
    document: Document


@dataclass(frozen=True)
class ReferralAccess:
    """A referral of a case the actor may act on."""

    actor: Actor
    case: Case
    referral: Referral


@dataclass(frozen=True)
class TaskAccess:
    """A task the actor may act on, with the actor."""

    actor: Actor
    task: Task


@dataclass(frozen=True)
class UserAccess:
    """An account the actor may manage, with the actor."""

    actor: Actor
    user: User


def readable_case(permission: Permission, *, reauth: bool = False) -> Any:
    """Declare on a route: `access: CaseAccess = readable_case(Permission.X)`; 404 when the
    case does not exist or lies outside the actor's scope."""
    requirement = Requirement(permission, reauth=reauth)

    def dependency(
        request: Request,
        db: DbSession,
        case_id: uuid.UUID,
        actor: Actor = Depends(requirement),
    ) -> CaseAccess:
        now = request.app.state.clock.now()
        stmt = readable_cases(actor, permission, now=now).where(Case.id == case_id)
        case = db.scalars(stmt).first()
        if case is None:
            reason = _denial(db, actor, case_id, now)
            deny(db, actor, reason=reason, object_type="case", object_id=case_id)
            raise NotFound()
        return CaseAccess(actor=actor, case=case)

    dependency.__haven_scope__ = ScopeMarker("case", "case_id", enforced=True)  # type: ignore[attr-defined]
    return Depends(dependency)


def readable_document(permission: Permission, *, reauth: bool = False) -> Any:
    """Declare on a route: `access: DocumentAccess = readable_document(Permission.X)`; the
    case must be readable and the document must belong to that very case (404 otherwise, even
    for the right id of another case's document)."""
    case_dependency = readable_case(permission, reauth=reauth)

    def dependency(
        db: DbSession, doc_id: uuid.UUID, access: CaseAccess = case_dependency
    ) -> DocumentAccess:
        doc = db.scalars(
            select(Document).where(Document.id == doc_id, Document.case_id == access.case.id)
        ).first()
        if doc is None:
            deny(db, access.actor, reason="out_of_scope", object_type="document", object_id=doc_id)
            raise NotFound()
        return DocumentAccess(actor=access.actor, case=access.case, document=doc)

    dependency.__haven_scope__ = ScopeMarker("document", "doc_id", enforced=True)  # type: ignore[attr-defined]
    return Depends(dependency)


def readable_referral(permission: Permission, *, reauth: bool = False) -> Any:
    """Declare on a route: `access: ReferralAccess = readable_referral(Permission.X)`; a
    referral is reachable only through a case the actor may read (404 otherwise)."""
    requirement = Requirement(permission, reauth=reauth)

    def dependency(
        request: Request,
        db: DbSession,
        referral_id: uuid.UUID,
        actor: Actor = Depends(requirement),
    ) -> ReferralAccess:
        now = request.app.state.clock.now()
        found = db.execute(
            select(Referral, Case)
            .join(Case, Case.id == Referral.case_id)
            .where(Referral.id == referral_id, case_scope(actor, now=now, permission=permission))
        ).first()
        if found is None:
            owner = db.scalar(select(Referral.case_id).where(Referral.id == referral_id))
            reason = _denial(db, actor, owner, now)
            deny(db, actor, reason=reason, object_type="referral", object_id=referral_id)
            raise NotFound()
        referral, case = found
        return ReferralAccess(actor=actor, case=case, referral=referral)

    dependency.__haven_scope__ = ScopeMarker("referral", "referral_id", enforced=True)  # type: ignore[attr-defined]
    return Depends(dependency)


def any_case(permission: Permission, *, reauth: bool = False) -> Any:
    """Like readable_case but reaching outside scope (break-glass only); 404 when absent."""
    requirement = Requirement(permission, reauth=reauth)

    def dependency(
        db: DbSession,
        case_id: uuid.UUID,
        actor: Actor = Depends(requirement),
    ) -> CaseAccess:
        case = db.get(Case, case_id)
        if case is None:
            deny(db, actor, reason="not_found", object_type="case", object_id=case_id)
            raise NotFound()
        return CaseAccess(actor=actor, case=case)

    dependency.__haven_scope__ = ScopeMarker("case", "case_id", enforced=False)  # type: ignore[attr-defined]
    return Depends(dependency)


def readable_task(permission: Permission) -> Any:
    """Declare on a route: `access: TaskAccess = readable_task(Permission.X)`; 404 when the
    task does not exist or lies outside the actor's scope (another volunteer's task)."""
    requirement = Requirement(permission)

    def dependency(
        request: Request,
        db: DbSession,
        task_id: uuid.UUID,
        actor: Actor = Depends(requirement),
    ) -> TaskAccess:
        now = request.app.state.clock.now()
        stmt = readable_tasks(actor, permission, now=now).where(Task.id == task_id)
        task = db.scalars(stmt).first()
        if task is None:
            owner = db.scalar(select(Task.case_id).where(Task.id == task_id))
            reason = _denial(db, actor, owner, now)
            deny(db, actor, reason=reason, object_type="task", object_id=task_id)
            raise NotFound()
        return TaskAccess(actor=actor, task=task)

    dependency.__haven_scope__ = ScopeMarker("task", "task_id", enforced=True)  # type: ignore[attr-defined]
    return Depends(dependency)


def managed_user(permission: Permission, *, reauth: bool = False) -> Any:
    """Declare on a route: `access: UserAccess = managed_user(Permission.X)`; 404 outside scope."""
    requirement = Requirement(permission, reauth=reauth)

    def dependency(
        db: DbSession,
        user_id: uuid.UUID,
        actor: Actor = Depends(requirement),
    ) -> UserAccess:
        user = db.scalars(manageable_users(actor).where(User.id == user_id)).first()
        if user is None:
            deny(db, actor, reason="out_of_scope", object_type="user", object_id=user_id)
            raise NotFound()
        return UserAccess(actor=actor, user=user)

    dependency.__haven_scope__ = ScopeMarker("user", "user_id", enforced=True)  # type: ignore[attr-defined]
    return Depends(dependency)


@dataclass(frozen=True)
class RequestAccess:
    """A pending access request the actor may see and decide, with the actor."""

    actor: Actor
    request: AccessRequest


def access_request(permission: Permission, *, reauth: bool = False) -> Any:
    """Declare on a route: `access: RequestAccess = access_request(Permission.X)`; 404 unless
    the request opens one of a coordinator's teams (admins: every request)."""
    requirement = Requirement(permission, reauth=reauth)

    def dependency(
        db: DbSession, request_id: uuid.UUID, actor: Actor = Depends(requirement)
    ) -> RequestAccess:
        row = db.get(AccessRequest, request_id)
        if row is None or not request_visible_to(actor, row):
            deny(
                db, actor, reason="out_of_scope", object_type="access_request", object_id=request_id
            )
            raise NotFound()
        return RequestAccess(actor=actor, request=row)

    dependency.__haven_scope__ = ScopeMarker("access_request", "request_id", enforced=True)  # type: ignore[attr-defined]
    return Depends(dependency)


def request_visible_to(actor: Actor, row: AccessRequest) -> bool:
    """Admins see every access request; a coordinator those that open one of their teams."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.COORDINATOR:
        return bool({uuid.UUID(t) for t in row.grant_team_ids} & actor.team_ids)
    return False
