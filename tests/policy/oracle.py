"""What each role may do and see, written out by hand from docs/architecture.md (the "Who
uses it" table and the rules under it) — never imported from `app/`.

The route matrix, the page matrix and the field redaction tests take their expectations
from here, so a wrong entry in `app/policy/permissions.py` (a permission added to or taken
from a role, a field made visible) fails a test that names the role and the permission:
a test that read its expectation from the code under test could not catch it.

Change this file only when the design changes, and then change the design document too.
"""

from __future__ import annotations

# Every signed-in person reads and updates their own account (password, language, sessions).
_SELF = {"self:read", "self:update"}

# Casework: what the case team does on the cases in its scope.
_CASEWORK = {
    "case:list",
    "case:read",
    "case:create",
    "case:update",
    "case:transition",
    "case:search",
    "case:history",
    "case:break_glass",
    "document:read",
    "document:upload",
    "referral:read",
    "referral:write",
    "partner:read",
    "task:read",
    "task:create",
    "task:update",
    "task:manage",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    # Logs intake interviews, documents a case, drafts referrals, writes volunteer tasks.
    "caseworker": frozenset(_SELF | _CASEWORK),
    # Triages, assigns, approves closure (reopen) and erasure, exports for the person,
    # holds, reviews break-glass, vouches for partners' keys, approves access grants for
    # their team, unlocks, seals in an emergency. Never creates accounts or changes roles.
    "coordinator": frozenset(
        _SELF
        | _CASEWORK
        | {
            "case:assign",
            "case:reopen",
            "case:export",
            "case:erase",
            "case:legal_hold",
            "break_glass:review",
            "break_glass:read_reason",
            "partner:write",
            "partner:confirm",
            "report:read",
            "user:unlock",
            "team:read",
            "team:members",
            "access_request:read",
            "access_request:approve",
            "access_request:reject",
            "sys:seal",
        }
    ),
    # Only their own tasks: read them, accept, note, done.
    "volunteer": frozenset(_SELF | {"task:read", "task:update"}),
    # Accounts, teams, partners, settings and keys — no case content, no audit log, and no
    # approving their own access requests (a coordinator of the team does).
    "admin": frozenset(
        _SELF
        | {
            "user:read",
            "user:create",
            "user:update",
            "user:unlock",
            "user:end_sessions",
            "access_request:read",
            "access_request:reject",
            "team:read",
            "team:members",
            "team:create",
            "partner:read",
            "partner:write",
            "report:read",
            "sys:seal",
            "sys:keys",
        }
    ),
    # Who did what: the log (and its verification), aggregate reports, break-glass review,
    # and the names and roles behind the actor ids.
    "auditor": frozenset(
        _SELF | {"audit:read", "audit:verify", "report:read", "break_glass:review", "team:members"}
    ),
}

# A live break-glass grant lets the case team's roles READ a case outside their scope and
# what hangs off it; acting on it (update, move, assign, upload, refer, task, export,
# erase) stays with the case's own team.
BREAK_GLASS_ROLES = frozenset({"coordinator", "caseworker"})
BREAK_GLASS_READS = frozenset(
    {
        "case:list",
        "case:search",
        "case:read",
        "case:history",
        "document:read",
        "referral:read",
        "task:read",
    }
)

# role × case field: what each role sees of a case. The case team sees its cases in full;
# a volunteer the case code only; an admin that a case exists (its id); an auditor its id
# and a masked code (to follow the log), never content.
FULL_FIELDS_ONLY: dict[str, frozenset[str] | None] = {
    "coordinator": None,  # every field, in full
    "caseworker": None,
    "volunteer": frozenset({"case_code"}),
    "admin": frozenset({"id"}),
    "auditor": frozenset({"id"}),
}
MASKED_FIELDS: dict[str, frozenset[str]] = {
    "coordinator": frozenset(),
    "caseworker": frozenset(),
    "volunteer": frozenset(),
    "admin": frozenset(),
    "auditor": frozenset({"case_code"}),
}


# Roles that see case content: making someone one of them is a grant that a coordinator of
# the team approves (docs/architecture.md, "Who uses it").
CASE_ROLES = frozenset({"coordinator", "caseworker"})
# "TOTP is mandatory for every role that can see identifying data or manage those who can."
TOTP_ROLES = frozenset({"coordinator", "caseworker", "admin", "auditor"})

# A task (docs/api.md): a volunteer sees exactly the volunteer task shape, "nothing else";
# the case team every field of its tasks; admin and auditor no task at all.
VOLUNTEER_TASK = frozenset(
    {"id", "case_code", "title", "instructions", "place", "due", "status", "note"}
)
TASK_STAFF_ONLY = frozenset({"case_id", "assigned_to", "created_by", "created_at", "updated_at"})
TASK_VIEW: dict[str, frozenset[str]] = {
    "coordinator": VOLUNTEER_TASK | TASK_STAFF_ONLY,
    "caseworker": VOLUNTEER_TASK | TASK_STAFF_ONLY,
    "volunteer": VOLUNTEER_TASK,
    "admin": frozenset(),
    "auditor": frozenset(),
}

# The team directory (docs/api.md): the team's coordinators and admins see id, name, e-mail,
# role and whether the account is active; an auditor the name and role (with the id the log
# names an actor by); caseworkers and volunteers no directory.
MEMBER_VIEW: dict[str, frozenset[str]] = {
    "coordinator": frozenset({"id", "name", "email", "role", "active"}),
    "admin": frozenset({"id", "name", "email", "role", "active"}),
    "auditor": frozenset({"id", "name", "role"}),
    "caseworker": frozenset(),
    "volunteer": frozenset(),
}


def allows(role: str, permission: str) -> bool:
    """The oracle's answer: does the design give role this permission?"""
    return permission in PERMISSIONS[role]


def field_view(role: str, field: str) -> str:
    """'full', 'masked' or 'hidden': how the design shows field to role."""
    if field in MASKED_FIELDS[role]:
        return "masked"
    full = FULL_FIELDS_ONLY[role]
    return "full" if full is None or field in full else "hidden"
