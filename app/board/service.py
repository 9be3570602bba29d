"""The coordinator's triage board: what waits for a decision today, across their teams.

Cross-domain on purpose (cases, tasks, accounts, break-glass), so it lives in its own
package rather than in `cases`. Every query is scoped by the policy's own statements
(`case_scope` with CASE_ASSIGN: a break-glass grant never brings another team's case onto
the board) and the board runs a fixed number of SQL statements whatever the numbers: the
lists are cut to a few rows with their totals beside them. Only one encrypted field is
opened: the vetting status of the new requests shown (their keys loaded in one query), and
that read is audited once, naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import break_glass
from app.cases import record as rec
from app.cases.models import Case, CaseDeadline
from app.cases.vocab import Stage
from app.crypto.keyring import Keyring
from app.intake.service import SOURCE as SELF_REFERRAL
from app.pagination import bounded_count
from app.policy.deps import Actor
from app.policy.permissions import Permission, Role
from app.policy.scope import case_scope, task_scope
from app.tasks.models import Task
from app.tasks.schemas import TaskStatus
from app.users import grants
from app.users.models import AccessRequest, Team, TeamMembership, User, shown_name

SHOWN = 20  # rows of each list on the board; the total is shown beside it
# The totals beside the lists are counted up to this many ("1,000+" beyond): a count reads
# every row it counts, and a network with a backlog that large needs the list, not its size.
# A lower HAVEN_LIST_COUNT_CAP (how far every list counts) lowers it too: `count_cap`.
COUNT_CAP = 1000
DUE_DAYS = 7  # deadlines in the next week
GLASS_DAYS = 14  # break-glass uses of the last two weeks
OPEN_TASK = (TaskStatus.OPEN.value, TaskStatus.ACCEPTED.value)
DESTROY_AFTER = "destroy_after"  # the kind of a movement plan's destruction date


@dataclass(frozen=True)
class Waiting:
    """A case waiting on the board: plain columns, and for a new request its vetting."""

    id: uuid.UUID
    case_code: str
    stage: str
    risk_level: str | None
    team_id: uuid.UUID
    created_at: datetime
    version: int
    citizenship: str | None = None
    current_country: str | None = None
    vetting: str | None = None


@dataclass(frozen=True)
class Due:
    """A date a case must meet: a hearing, a deadline, or a plan's destruction."""

    case_id: uuid.UUID
    case_code: str
    kind: str
    on: date


@dataclass(frozen=True)
class Overdue:
    """A task past its due time, by its case code (its text stays encrypted)."""

    case_id: uuid.UUID
    case_code: str
    due: datetime
    status: str
    volunteer: str


@dataclass(frozen=True)
class Asked:
    """A pending access request: whose account, which role, which teams, who asked."""

    id: uuid.UUID
    account: str
    role: str
    teams: list[str]
    new_account: bool
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True)
class GlassUse:
    """A break-glass grant on one of the coordinator's cases (its reason stays encrypted)."""

    case_id: uuid.UUID
    case_code: str
    by: str
    created_at: datetime
    expires_at: datetime
    active: bool


@dataclass
class Board:
    """Everything the board shows."""

    requests: list[Waiting] = field(default_factory=list)
    requests_total: int = 0
    unassigned: list[Waiting] = field(default_factory=list)
    unassigned_total: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    overdue: list[Overdue] = field(default_factory=list)
    overdue_total: int = 0
    # Which totals stopped at the cap ("at least"): of "requests", "unassigned", "overdue".
    capped: set[str] = field(default_factory=set)
    count_cap: int = COUNT_CAP
    deadlines: list[Due] = field(default_factory=list)
    access_requests: list[Asked] = field(default_factory=list)
    glass: list[GlassUse] = field(default_factory=list)
    # The caseworkers a case of each team may be assigned to: (id, name), by name.
    caseworkers: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = field(default_factory=dict)


def _waiting(case: Case, vetting: str | None = None) -> Waiting:
    return Waiting(
        id=case.id,
        case_code=case.case_code,
        stage=case.stage,
        risk_level=case.risk_level,
        team_id=case.team_id,
        created_at=case.created_at,
        version=case.version,
        citizenship=case.citizenship,
        current_country=case.current_country,
        vetting=vetting,
    )


def _count(db: Session, board: Board, name: str, stmt: Select[*tuple[Any, ...]]) -> int:
    """How many rows stmt selects, counted up to the board's cap (the name marked capped
    beyond)."""
    total, capped = bounded_count(db, stmt, board.count_cap)
    if capped:
        board.capped.add(name)
    return total


def _cut(db: Session, board: Board, name: str, stmt: Select[Case]) -> tuple[list[Case], int]:
    """The first SHOWN rows of an ordered stmt, and how many there are (to the cap)."""
    return list(db.scalars(stmt.limit(SHOWN))), _count(db, board, name, stmt)


def _vetting(db: Session, keyring: Keyring, cases: Sequence[Case]) -> dict[uuid.UUID, str | None]:
    """The vetting status of each case: every key loaded in one query, one field opened."""
    if not cases:
        return {}
    keys = rec.preload_keys(db, cases)
    out: dict[uuid.UUID, str | None] = {}
    for case in cases:
        value = rec.read(case, rec.case_key(db, keyring=keyring, case=case), ["vetting"])
        out[case.id] = (value["vetting"] or {}).get("status")
    del keys
    return out


def _cases(db: Session, keyring: Keyring, actor: Actor, now: datetime, board: Board) -> None:
    scope = case_scope(actor, now=now, permission=Permission.CASE_ASSIGN)
    new_request = (Case.source == SELF_REFERRAL) & (Case.stage == Stage.INTAKE.value)
    waiting = select(Case).where(scope, Case.assigned_to.is_(None))
    requests, board.requests_total = _cut(
        db, board, "requests", waiting.where(new_request).order_by(Case.created_at.desc(), Case.id)
    )
    vetting = _vetting(db, keyring, requests)
    board.requests = [_waiting(c, vetting[c.id]) for c in requests]
    unassigned, board.unassigned_total = _cut(
        db,
        board,
        "unassigned",
        waiting.where(~new_request, Case.stage != Stage.CLOSED.value).order_by(
            Case.created_at, Case.id
        ),
    )
    board.unassigned = [_waiting(c) for c in unassigned]
    counts = db.execute(select(Case.stage, func.count()).where(scope).group_by(Case.stage))
    found = {str(stage): int(n) for stage, n in counts}
    board.stages = {s.value: found.get(s.value, 0) for s in Stage}


def _dates(db: Session, actor: Actor, now: datetime, board: Board) -> None:
    scope = case_scope(actor, now=now, permission=Permission.CASE_ASSIGN)
    today, until = now.date(), now.date() + timedelta(days=DUE_DAYS)
    hearings = db.execute(
        select(Case.id, Case.case_code, CaseDeadline.kind, CaseDeadline.on)
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(scope, CaseDeadline.on >= today, CaseDeadline.on <= until)
        .order_by(CaseDeadline.on, Case.case_code)
        .limit(SHOWN)
    )
    plans = db.execute(
        select(Case.id, Case.case_code, Case.movement_destroy_after)
        .where(
            scope,
            Case.movement_destroy_after >= now,
            Case.movement_destroy_after < now + timedelta(days=DUE_DAYS + 1),
        )
        .order_by(Case.movement_destroy_after)
        .limit(SHOWN)
    )
    dues = [Due(i, code, kind, on) for i, code, kind, on in hearings]
    dues += [Due(i, code, DESTROY_AFTER, at.date()) for i, code, at in plans if at is not None]
    board.deadlines = sorted(dues, key=lambda d: (d.on, d.case_code))[:SHOWN]


def _tasks(db: Session, actor: Actor, now: datetime, board: Board) -> None:
    late = (
        select(Task.case_id, Case.case_code, Task.due, Task.status, User)
        .join(Case, Case.id == Task.case_id)
        .join(User, User.id == Task.assigned_to)
        .where(
            # Said of the case joined above: the planner may read the open tasks in due
            # order and stop, where an IN (cases of the team) reads the whole team first.
            task_scope(actor, now=now, permission=Permission.CASE_ASSIGN, case_joined=True),
            # Written out, not bound, so that the planner may read ix_tasks_open_due.
            Task.status.in_(
                bindparam("open_task", OPEN_TASK, expanding=True, literal_execute=True)
            ),
            Task.due < now,
        )
    )
    board.overdue_total = _count(db, board, "overdue", late)
    rows = db.execute(late.order_by(Task.due, Task.id).limit(SHOWN))
    board.overdue = [
        Overdue(c, code, due, st, shown_name(u)) for c, code, due, st, u in rows if due is not None
    ]


def _people(db: Session, actor: Actor, board: Board) -> None:
    if not actor.team_ids:
        return
    rows = db.execute(
        select(TeamMembership.team_id, User)
        .join(User, User.id == TeamMembership.user_id)
        .where(
            TeamMembership.team_id.in_(actor.team_ids),
            User.role == Role.CASEWORKER.value,
            User.disabled_at.is_(None),
        )
        .order_by(func.coalesce(User.display_name, User.email), User.id)
    )
    for team_id, user in rows:
        board.caseworkers.setdefault(team_id, []).append((user.id, shown_name(user)))


def described(db: Session, pending: Sequence[AccessRequest]) -> list[Asked]:
    """Access requests as a coordinator reads them: names of the account, the teams and who
    asked (two queries whatever their number)."""
    if not pending:
        return []
    ids = {r.user_id for r in pending} | {r.requested_by for r in pending if r.requested_by}
    names = {u.id: shown_name(u) for u in db.scalars(select(User).where(User.id.in_(ids)))}
    team_ids = {uuid.UUID(t) for r in pending for t in r.team_ids}
    rows = db.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))
    teams = {row.id: row.name for row in rows}
    return [
        Asked(
            id=r.id,
            account=names.get(r.user_id, ""),
            role=r.role,
            teams=sorted(teams.get(uuid.UUID(t), "") for t in r.team_ids),
            new_account=r.new_account,
            requested_by=names.get(r.requested_by, "") if r.requested_by else "",
            requested_at=r.requested_at,
        )
        for r in pending
    ]


def _access(db: Session, actor: Actor, board: Board) -> None:
    board.access_requests = described(db, grants.pending_for(db, actor)[:SHOWN])


def _glass(db: Session, actor: Actor, now: datetime, board: Board) -> None:
    found = break_glass.reviewable_grants(
        db, actor=actor, since=now - timedelta(days=GLASS_DAYS), limit=SHOWN
    )
    if not found:
        return
    ids = {g.actor_id for g, _ in found}
    names = {u.id: shown_name(u) for u in db.scalars(select(User).where(User.id.in_(ids)))}
    board.glass = [
        GlassUse(
            case_id=c.id,
            case_code=c.case_code,
            by=names.get(g.actor_id, ""),
            created_at=g.created_at,
            expires_at=g.expires_at,
            active=g.expires_at > now,
        )
        for g, c in found
    ]


def count_cap(list_count_cap: int) -> int:
    """How far the board counts its totals: COUNT_CAP, or the lists' cap when lower."""
    return min(COUNT_CAP, list_count_cap)


def board_of(
    db: Session, *, keyring: Keyring, actor: Actor, now: datetime, list_count_cap: int
) -> Board:
    """The triage board of a coordinator (flushes its one audit entry, never commits);
    `list_count_cap` is the setting HAVEN_LIST_COUNT_CAP (see `count_cap`)."""
    board = Board(count_cap=count_cap(list_count_cap))
    _cases(db, keyring, actor, now, board)
    _dates(db, actor, now, board)
    _tasks(db, actor, now, board)
    _people(db, actor, board)
    _access(db, actor, board)
    _glass(db, actor, now, board)
    if board.requests:
        # The vetting of the requests shown was opened: one entry, the field named.
        record(db, AuditAction.CASE_READ, by=actor, on=("case", None), fields=["vetting"],
               reason="board")  # fmt: skip
    return board
