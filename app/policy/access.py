"""Scoped lookups: the one construct through which a route reaches an object by its id.

A route declares what it reaches in its signature, through a per-domain alias:

    CaseRead = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_READ))]

    @router.get("/cases/{case_id}")
    def read_case(access: CaseRead) -> ...: ...

`Scoped` checks the permission (`Requirement`: signed in, CSRF, role), reads the object's id
from the path (or from a field of the request body, as `POST /tasks` names its case), finds
the object within the actor's scope (app/policy/scope.py) and hands the route a typed access
object. An object that does not exist or lies outside the scope answers 404, never 403, and
the refusal is audited and kept. The route-matrix test finds every `Scoped` in the route
table, so no route decides scope by itself.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.deps import DbSession
from app.documents.models import Document
from app.policy.deps import Actor, Requirement, denied
from app.policy.permissions import Permission
from app.policy.scope import (
    case_scope,
    denial_reason,
    manageable_users,
    readable_cases,
    readable_tasks,
    request_visible_to,
    team_visible_to,
)
from app.referrals.models import Referral
from app.tasks.models import Task
from app.users.models import AccessRequest, Team, User

AccessT = TypeVar("AccessT")


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


@dataclass(frozen=True)
class TeamAccess:
    """A team the actor may look into, with the actor."""

    actor: Actor
    team: Team


@dataclass(frozen=True)
class AccountAccess:
    """Any account, for those whose work is the whole organisation (auditors, reading the
    log's actors), with the actor."""

    actor: Actor
    user: User


@dataclass(frozen=True)
class RequestAccess:
    """A pending access request the actor may see and decide, with the actor."""

    actor: Actor
    request: AccessRequest


class OutOfScope(Exception):
    """Raised by a finder: the object is absent or beyond the actor's reach (a 404).

    `case_id` names the case it hangs off, when known, so the audit entry can say whether a
    live break-glass grant was tried for a write; `reason` overrides that reasoning."""

    def __init__(
        self, kind: str, object_id: uuid.UUID, *, case_id: uuid.UUID | None, reason: str = ""
    ) -> None:
        super().__init__(kind)
        self.kind, self.object_id, self.case_id, self.reason = kind, object_id, case_id, reason


@dataclass(frozen=True)
class Query:
    """What a finder is asked: by whom, for which permission, when."""

    db: Session
    actor: Actor
    permission: Permission
    now: datetime


@dataclass(frozen=True)
class BodyId:
    """An id that arrives in a field of the request body rather than in the path."""

    model: type[BaseModel]
    field: str


@dataclass(frozen=True)
class Lookup(Generic[AccessT]):
    """One kind of object a route reaches by id: where its ids come from (path parameters,
    outermost first, or one body field), and how it is found within the actor's scope."""

    resource: str
    ids: tuple[str, ...] | BodyId
    find: Callable[[Query, Sequence[uuid.UUID]], AccessT]
    # False only for break-glass: it reaches a case outside the scope on purpose.
    enforced: bool = True

    @property
    def params(self) -> tuple[str, ...]:
        """The path parameters this lookup reads."""
        return () if isinstance(self.ids, BodyId) else self.ids


class Scoped(Generic[AccessT]):
    """The dependency behind every scoped alias: permission, then the object within scope."""

    def __init__(
        self, lookup: Lookup[AccessT], permission: Permission, *, reauth: bool = False
    ) -> None:
        self.lookup = lookup
        self.permission = permission
        self.requirement = Requirement(permission, reauth=reauth)
        # FastAPI reads the dependency's parameters from this signature: the request, the
        # unit of work, the actor (through the requirement), and the ids by their names.
        params = [
            _param("request", Request),
            _param("db", DbSession),
            _param("actor", Annotated[Actor, Depends(self.requirement)]),
        ]
        if isinstance(lookup.ids, BodyId):
            params.append(_param("body", lookup.ids.model))
        else:
            params += [_param(name, uuid.UUID) for name in lookup.ids]
        self.__signature__ = inspect.Signature(params)

    def __repr__(self) -> str:
        return f"Scoped({self.lookup.resource}, {self.requirement!r})"

    def __call__(self, **values: Any) -> AccessT:
        request: Request = values["request"]
        db: Session = values["db"]
        actor: Actor = values["actor"]
        ids = self.lookup.ids
        if isinstance(ids, BodyId):
            found_ids: list[uuid.UUID] = [getattr(values["body"], ids.field)]
        else:
            found_ids = [values[name] for name in ids]
        now: datetime = request.app.state.clock.now()
        query = Query(db=db, actor=actor, permission=self.permission, now=now)
        try:
            return self.lookup.find(query, found_ids)
        except OutOfScope as miss:
            reason = miss.reason or denial_reason(db, actor, miss.case_id, now)
            raise denied(db, actor, reason=reason, on=(miss.kind, miss.object_id)) from None


def _param(name: str, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)


# --- the lookups ------------------------------------------------------------------------


def _case(q: Query, case_id: uuid.UUID) -> Case:
    stmt = readable_cases(q.actor, q.permission, now=q.now).where(Case.id == case_id)
    case = q.db.scalars(stmt).first()
    if case is None:
        raise OutOfScope("case", case_id, case_id=case_id)
    return case


def _find_case(q: Query, ids: Sequence[uuid.UUID]) -> CaseAccess:
    return CaseAccess(actor=q.actor, case=_case(q, ids[0]))


def _find_any_case(q: Query, ids: Sequence[uuid.UUID]) -> CaseAccess:
    case = q.db.get(Case, ids[0])
    if case is None:
        raise OutOfScope("case", ids[0], case_id=None, reason="not_found")
    return CaseAccess(actor=q.actor, case=case)


def _find_document(q: Query, ids: Sequence[uuid.UUID]) -> DocumentAccess:
    case_id, doc_id = ids
    case = _case(q, case_id)
    doc = q.db.scalars(
        select(Document).where(Document.id == doc_id, Document.case_id == case.id)
    ).first()
    if doc is None:  # even the right id of another case's document
        raise OutOfScope("document", doc_id, case_id=None, reason="out_of_scope")
    return DocumentAccess(actor=q.actor, case=case, document=doc)


def _find_referral(q: Query, ids: Sequence[uuid.UUID]) -> ReferralAccess:
    found = q.db.execute(
        select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.id == ids[0], case_scope(q.actor, now=q.now, permission=q.permission))
    ).first()
    if found is None:
        owner = q.db.scalar(select(Referral.case_id).where(Referral.id == ids[0]))
        raise OutOfScope("referral", ids[0], case_id=owner)
    referral, case = found
    return ReferralAccess(actor=q.actor, case=case, referral=referral)


def _find_task(q: Query, ids: Sequence[uuid.UUID]) -> TaskAccess:
    stmt = readable_tasks(q.actor, q.permission, now=q.now).where(Task.id == ids[0])
    task = q.db.scalars(stmt).first()
    if task is None:
        owner = q.db.scalar(select(Task.case_id).where(Task.id == ids[0]))
        raise OutOfScope("task", ids[0], case_id=owner)
    return TaskAccess(actor=q.actor, task=task)


def _find_user(q: Query, ids: Sequence[uuid.UUID]) -> UserAccess:
    user = q.db.scalars(manageable_users(q.actor).where(User.id == ids[0])).first()
    if user is None:
        raise OutOfScope("user", ids[0], case_id=None, reason="out_of_scope")
    return UserAccess(actor=q.actor, user=user)


def _find_team(q: Query, ids: Sequence[uuid.UUID]) -> TeamAccess:
    team = q.db.get(Team, ids[0])
    if team is None or not team_visible_to(q.actor, team.id):
        raise OutOfScope("team", ids[0], case_id=None, reason="out_of_scope")
    return TeamAccess(actor=q.actor, team=team)


def _find_account(q: Query, ids: Sequence[uuid.UUID]) -> AccountAccess:
    user = q.db.get(User, ids[0])
    if user is None:
        raise OutOfScope("user", ids[0], case_id=None, reason="not_found")
    return AccountAccess(actor=q.actor, user=user)


def _find_request(q: Query, ids: Sequence[uuid.UUID]) -> RequestAccess:
    row = q.db.get(AccessRequest, ids[0])
    if row is None or not request_visible_to(q.actor, row):
        raise OutOfScope("access_request", ids[0], case_id=None, reason="out_of_scope")
    return RequestAccess(actor=q.actor, request=row)


CASE: Lookup[CaseAccess] = Lookup("case", ("case_id",), _find_case)
# Break-glass only: any existing case, in scope or not (the grant is what it asks for).
ANY_CASE: Lookup[CaseAccess] = Lookup("case", ("case_id",), _find_any_case, enforced=False)
DOCUMENT: Lookup[DocumentAccess] = Lookup("document", ("case_id", "doc_id"), _find_document)
REFERRAL: Lookup[ReferralAccess] = Lookup("referral", ("referral_id",), _find_referral)
TASK: Lookup[TaskAccess] = Lookup("task", ("task_id",), _find_task)
USER: Lookup[UserAccess] = Lookup("user", ("user_id",), _find_user)
ACCESS_REQUEST: Lookup[RequestAccess] = Lookup("access_request", ("request_id",), _find_request)
TEAM: Lookup[TeamAccess] = Lookup("team", ("team_id",), _find_team)
# Any existing account (the auditor's reach is the whole log): reachable on purpose.
ACCOUNT: Lookup[AccountAccess] = Lookup("user", ("user_id",), _find_account, enforced=False)


def case_in_body(model: type[BaseModel], field: str = "case_id") -> Lookup[CaseAccess]:
    """A case named by a field of the request body, scoped exactly like one in the path."""
    return Lookup("case", BodyId(model, field), _find_case)
