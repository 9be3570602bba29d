"""The policy table: roles, permissions, and which case fields each role may see.

This is the one place that decides. Routes declare `require(Permission.X)`; serializers ask
`FIELD_VISIBILITY`, derived from the case-field catalogue's classes (app/cases/fields.py).
Default deny: a permission not listed for a role is refused, a field not listed for a role is
hidden.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from app.cases import fields
from app.cases.fields import Exposure


class Role(enum.StrEnum):
    """The five roles; each account has exactly one."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    CASEWORKER = "caseworker"
    VOLUNTEER = "volunteer"
    AUDITOR = "auditor"


# Roles that see case content: granting one of them needs a coordinator's approval.
CASE_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.CASEWORKER})

# Roles that can see identifying data (or manage those who can) must use a second factor.
TOTP_REQUIRED: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.COORDINATOR, Role.CASEWORKER, Role.AUDITOR}
)


class Permission(enum.StrEnum):
    """What a route may require, as "resource:action"."""

    SELF_READ = "self:read"
    SELF_UPDATE = "self:update"
    USER_READ = "user:read"
    USER_CREATE = "user:create"
    USER_UPDATE = "user:update"
    USER_UNLOCK = "user:unlock"
    USER_END_SESSIONS = "user:end_sessions"
    # Granting case content (a case role, or a case role's new team) is a request an admin
    # makes and a coordinator of every granted team approves: never one person alone.
    ACCESS_REQUEST_READ = "access_request:read"
    ACCESS_REQUEST_APPROVE = "access_request:approve"
    ACCESS_REQUEST_REJECT = "access_request:reject"
    TEAM_READ = "team:read"
    TEAM_CREATE = "team:create"
    # The team directory: who is on a team (coordinators of that team, admins; auditors see
    # names and roles only, to read the log).
    TEAM_MEMBERS = "team:members"
    CASE_LIST = "case:list"
    CASE_READ = "case:read"
    CASE_CREATE = "case:create"
    CASE_UPDATE = "case:update"
    CASE_TRANSITION = "case:transition"
    CASE_ASSIGN = "case:assign"
    CASE_REOPEN = "case:reopen"
    CASE_SEARCH = "case:search"
    CASE_HISTORY = "case:history"
    CASE_EXPORT = "case:export"
    CASE_ERASE = "case:erase"
    CASE_LEGAL_HOLD = "case:legal_hold"
    CASE_BREAK_GLASS = "case:break_glass"
    BREAK_GLASS_REVIEW = "break_glass:review"
    BREAK_GLASS_READ_REASON = "break_glass:read_reason"
    DOCUMENT_READ = "document:read"
    DOCUMENT_UPLOAD = "document:upload"
    REFERRAL_READ = "referral:read"
    REFERRAL_WRITE = "referral:write"
    PARTNER_READ = "partner:read"
    PARTNER_WRITE = "partner:write"
    # Vouch for a partner's key (the fingerprint checked out of band): coordinators only.
    PARTNER_CONFIRM = "partner:confirm"
    TASK_READ = "task:read"
    TASK_CREATE = "task:create"
    TASK_UPDATE = "task:update"
    # Edit a task's text, reassign it, set any status (cancel): the case team, not volunteers.
    TASK_MANAGE = "task:manage"
    AUDIT_READ = "audit:read"
    AUDIT_VERIFY = "audit:verify"
    REPORT_READ = "report:read"
    SYS_SEAL = "sys:seal"
    SYS_KEYS = "sys:keys"


P = Permission
_SIGNED_IN = frozenset({P.SELF_READ, P.SELF_UPDATE})
_CASEWORK = frozenset(
    {
        P.CASE_LIST,
        P.CASE_READ,
        P.CASE_CREATE,
        P.CASE_UPDATE,
        P.CASE_TRANSITION,
        P.CASE_SEARCH,
        P.CASE_HISTORY,
        P.CASE_BREAK_GLASS,
        P.DOCUMENT_READ,
        P.DOCUMENT_UPLOAD,
        P.REFERRAL_READ,
        P.REFERRAL_WRITE,
        P.PARTNER_READ,
        P.TASK_READ,
        P.TASK_CREATE,
        P.TASK_UPDATE,
        P.TASK_MANAGE,
    }
)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.CASEWORKER: _SIGNED_IN | _CASEWORK,
        Role.COORDINATOR: _SIGNED_IN
        | _CASEWORK
        | {
            P.CASE_ASSIGN,
            P.CASE_REOPEN,
            # Subject access export and erasure: coordinators, after re-authentication.
            P.CASE_EXPORT,
            P.CASE_ERASE,
            P.CASE_LEGAL_HOLD,
            P.BREAK_GLASS_REVIEW,
            P.BREAK_GLASS_READ_REASON,
            P.PARTNER_WRITE,
            P.PARTNER_CONFIRM,
            P.REPORT_READ,
            P.USER_UNLOCK,
            P.TEAM_READ,
            P.TEAM_MEMBERS,
            P.ACCESS_REQUEST_READ,
            P.ACCESS_REQUEST_APPROVE,
            P.ACCESS_REQUEST_REJECT,
            P.SYS_SEAL,
        },
        Role.VOLUNTEER: _SIGNED_IN | {P.TASK_READ, P.TASK_UPDATE},
        # Admins run the accounts and the machine but see no case content (separation of duty).
        Role.ADMIN: _SIGNED_IN
        | {
            P.USER_READ,
            P.USER_CREATE,
            P.USER_UPDATE,
            P.USER_UNLOCK,
            P.USER_END_SESSIONS,
            P.ACCESS_REQUEST_READ,
            P.ACCESS_REQUEST_REJECT,
            P.TEAM_READ,
            P.TEAM_MEMBERS,
            P.TEAM_CREATE,
            P.PARTNER_READ,
            P.PARTNER_WRITE,
            P.REPORT_READ,
            P.SYS_SEAL,
            P.SYS_KEYS,
        },
        Role.AUDITOR: _SIGNED_IN
        | {P.AUDIT_READ, P.AUDIT_VERIFY, P.REPORT_READ, P.BREAK_GLASS_REVIEW, P.TEAM_MEMBERS},
    }
)


# What a live break-glass grant reaches on a case outside one's scope: reading, never acting.
# Updates, transitions, assignment, uploads, referrals, tasks, export and erasure stay with
# the case's own team (app/policy/scope.py); through a grant they answer 404.
BREAK_GLASS_READS: frozenset[Permission] = frozenset(
    {
        P.CASE_LIST,
        P.CASE_SEARCH,
        P.CASE_READ,
        P.CASE_HISTORY,
        P.DOCUMENT_READ,
        P.REFERRAL_READ,
        P.TASK_READ,
    }
)


def allows(role: Role, permission: Permission) -> bool:
    """True when role holds permission."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


class Visibility(enum.StrEnum):
    """How a case field appears to a role."""

    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


# Which class of case field (app/cases/fields.py) each role sees, and how. The catalogue says
# what a field is; this table decides who sees it. A class not listed is hidden.
EXPOSURE_VISIBILITY: Mapping[Role, Mapping[Exposure, Visibility]] = MappingProxyType(
    {
        # The case team sees its cases in full (scope decides which cases those are).
        Role.COORDINATOR: dict.fromkeys(Exposure, Visibility.FULL),
        Role.CASEWORKER: dict.fromkeys(Exposure, Visibility.FULL),
        # A volunteer meets a case only through a task: the code, nothing that identifies.
        Role.VOLUNTEER: {Exposure.CODE: Visibility.FULL},
        # Admin and auditor see that a case exists (ids in the audit log), never its content.
        Role.ADMIN: {Exposure.REFERENCE: Visibility.FULL},
        Role.AUDITOR: {Exposure.REFERENCE: Visibility.FULL, Exposure.CODE: Visibility.MASKED},
    }
)


def _row(role: Role) -> Mapping[str, Visibility]:
    seen = EXPOSURE_VISIBILITY[role]
    return MappingProxyType(
        {f.name: seen.get(f.exposure, Visibility.HIDDEN) for f in fields.CATALOGUE}
    )


# Role x case field -> visibility, derived once from the two tables above.
FIELD_VISIBILITY: Mapping[Role, Mapping[str, Visibility]] = MappingProxyType(
    {role: _row(role) for role in Role}
)


def visibility(role: Role, field: str) -> Visibility:
    """How field appears to role; unknown fields are hidden."""
    return FIELD_VISIBILITY.get(role, {}).get(field, Visibility.HIDDEN)


MASK = "•••"


def mask(value: object) -> str:
    """A masked rendering: a value's last two characters at most, never its substance."""
    text = str(value) if value is not None else ""
    return MASK + text[-2:] if len(text) >= 8 else MASK


def redact(role: Role, values: Mapping[str, object]) -> dict[str, object]:
    """The fields of values that role may see: full as is, masked as a mask, hidden dropped."""
    out: dict[str, object] = {}
    for name, value in values.items():
        seen = visibility(role, name)
        if seen is Visibility.FULL:
            out[name] = value
        elif seen is Visibility.MASKED:
            out[name] = mask(value)
    return out


# Tasks: what each role sees of a task. A volunteer's row is exactly the docs/api.md shape;
# its free text is checked by the leak guard before it is saved.
TASK_FIELDS: tuple[str, ...] = (
    "id",
    "case_id",
    "case_code",
    "assigned_to",
    "title",
    "instructions",
    "place",
    "due",
    "status",
    "note",
    "created_by",
    "created_at",
    "updated_at",
)
VOLUNTEER_TASK_FIELDS: tuple[str, ...] = (
    "id",
    "case_code",
    "title",
    "instructions",
    "place",
    "due",
    "status",
    "note",
)
TASK_VISIBILITY: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.COORDINATOR: frozenset(TASK_FIELDS),
        Role.CASEWORKER: frozenset(TASK_FIELDS),
        Role.VOLUNTEER: frozenset(VOLUNTEER_TASK_FIELDS),
        Role.ADMIN: frozenset(),
        Role.AUDITOR: frozenset(),
    }
)


def redact_task(role: Role, values: Mapping[str, object]) -> dict[str, object]:
    """The task fields role may see (default deny: unknown fields are dropped)."""
    shown = TASK_VISIBILITY.get(role, frozenset())
    return {k: v for k, v in values.items() if k in shown}


# The team directory: what each role sees of a colleague's account. Auditors resolve who
# acted in the log (name and role), nothing more.
MEMBER_FIELDS: tuple[str, ...] = ("id", "name", "role", "email", "active")
MEMBER_VISIBILITY: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.COORDINATOR: frozenset(MEMBER_FIELDS),
        Role.ADMIN: frozenset(MEMBER_FIELDS),
        Role.AUDITOR: frozenset({"id", "name", "role"}),
        Role.CASEWORKER: frozenset(),
        Role.VOLUNTEER: frozenset(),
    }
)


def redact_member(role: Role, values: Mapping[str, object]) -> dict[str, object]:
    """The account fields role may see in the directory (default deny)."""
    shown = MEMBER_VISIBILITY.get(role, frozenset())
    return {k: v for k, v in values.items() if k in shown}
