"""Request and response shapes of the account and sign-in API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from app.pagination import PageQuery
from app.policy.permissions import CASE_ROLES, Role
from app.validation import NoNul

# Role names as the schema lists them (UserCreate).
_CASE_ROLE_NAMES: list[JsonValue] = [r.value for r in Role if r in CASE_ROLES]
_OTHER_ROLE_NAMES: list[JsonValue] = [r.value for r in Role if r not in CASE_ROLES]

# Looked up and stored in plain columns (PostgreSQL text cannot hold NUL).
# The pattern is the one app/users/service.py checks (around the spaces it trims).
Email = Annotated[
    str, Field(max_length=254, pattern=r"^\s*[^@\s]{1,64}@[^@\s]+\.[^@\s]+\s*$"), NoNul
]
# At least one character that str.strip() keeps (the service strips the name): written out,
# not \s, which means other characters in Python, in pydantic's Rust regex and in the
# documented (ECMA) schema.
NOT_BLANK = r"[^\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TeamName = Annotated[str, Field(min_length=1, max_length=120, pattern=NOT_BLANK), NoNul]


class TokenRequest(BaseModel):
    """Credentials for a bearer token. A one-time password (from `haven user add`, an admin
    or an approving coordinator) works once: send `new_password` with it to replace it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "caseworker@example.org",
                    "password": "violet-harbour-quietly-7",
                    "totp": "492817",
                }
            ]
        }
    )

    email: Email
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=64)
    new_password: str | None = Field(default=None, max_length=1024)


class TokenOut(BaseModel):
    """A new bearer token; shown once, stored only as a hash."""

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class ReauthRequest(BaseModel):
    """Password and TOTP code again, before a dangerous act."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"password": "violet-harbour-quietly-7", "totp": "492817"}]}
    )

    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=64)


class ReauthOut(BaseModel):
    """Until when the re-authentication counts."""

    reauth_until: datetime


class TeamOut(BaseModel):
    """A team."""

    id: uuid.UUID
    name: str


class TeamIn(BaseModel):
    """A new team."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Vilnius"}]})

    name: TeamName


class MeOut(BaseModel):
    """The signed-in account; csrf_token is set for cookie sessions (send it as X-CSRF-Token)."""

    id: uuid.UUID
    name: str
    email: str
    role: Role
    teams: list[TeamOut]
    auth: str
    csrf_token: str | None = None


class UserOut(BaseModel):
    """An account as the admin sees it."""

    id: uuid.UUID
    name: str
    email: str
    role: Role
    teams: list[TeamOut]
    disabled: bool
    totp_enrolled: bool
    created_at: datetime


class UserCreate(BaseModel):
    """A new account; without a password, Haven makes a one-time one and returns it once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "new.caseworker@example.org", "role": "caseworker", "teams": ["Vilnius"]}
            ],
            # An account that sees case content gets its password through the coordinator
            # who approves it (422 on `password` otherwise).
            "anyOf": [
                {
                    "properties": {
                        "role": {"enum": _CASE_ROLE_NAMES},
                        "password": {"type": "null"},
                    }
                },
                {"properties": {"role": {"enum": _OTHER_ROLE_NAMES}}},
            ],
        }
    )

    email: Email
    role: Role
    teams: list[Annotated[str, NoNul]] = Field(default_factory=list, max_length=50)
    password: str | None = Field(default=None, max_length=1024)
    # How colleagues see the account in the team directory (default: the e-mail's first part).
    name: Annotated[str, NoNul, Field(max_length=120)] | None = None


class UserCreated(BaseModel):
    """The new account, with the one-time password when generated. An account that sees case
    content gets no password here: it is issued to the coordinator who approves
    `access_request_id`. The TOTP secret is never here: the user enrols at first sign-in."""

    id: uuid.UUID
    email: str
    role: Role
    password: str | None = None
    access_request_id: uuid.UUID | None = None


class AccessRequestOut(BaseModel):
    """A grant of case content waiting for (or decided by) a coordinator of its teams."""

    id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    team_ids: list[uuid.UUID]
    grant_team_ids: list[uuid.UUID]
    new_account: bool
    status: str
    requested_by: uuid.UUID | None
    requested_at: datetime
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None


class Approved(BaseModel):
    """An approved request; a brand-new account's first password is here, once, for the
    approving coordinator to hand over."""

    request: AccessRequestOut
    password: str | None = None


class UserPatch(BaseModel):
    """Changes to an account; role and team changes need a fresh re-authentication, are
    refused on one's own account, and become an access request when they grant case content."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"role": "coordinator", "team_ids": ["5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"]}
            ]
        }
    )

    role: Role | None = None
    disabled: bool | None = None
    name: Annotated[str, NoNul, Field(max_length=120)] | None = None
    team_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)


class PasswordChange(BaseModel):
    """Change one's own password."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_password": "violet-harbour-quietly-7",
                    "new_password": "amber-kettle-morning-42",
                    "totp": "492817",
                }
            ]
        }
    )

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=64)


class UnlockOut(BaseModel):
    """Whether the account was locked."""

    was_locked: bool


class SessionsEnded(BaseModel):
    """How many sessions and tokens were ended."""

    ended: int


class PasswordResetOut(BaseModel):
    """A new one-time password, shown once: it works for one sign-in, at which its owner
    chooses their own."""

    id: uuid.UUID
    password: str


class MemberOut(BaseModel):
    """A colleague in the team directory: for coordinators and admins their name, role,
    e-mail and whether the account is active; for auditors name and role only."""

    id: uuid.UUID
    name: str
    role: Role
    email: str | None = None
    active: bool | None = None


class ActorOut(BaseModel):
    """Who an actor id in the audit log is: name and role, nothing else."""

    id: uuid.UUID
    name: str
    role: Role


class SessionOut(BaseModel):
    """One of one's own live sessions (a browser) or API tokens; `current` is the one the
    request came with."""

    id: uuid.UUID
    kind: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool
    # A coarse device name ("Firefox, Linux"), never the User-Agent string.
    agent: str | None = None


class RecoveryCodesOut(BaseModel):
    """Ten new recovery codes, shown once (each signs in once; the old ones no longer work)."""

    codes: list[str]


class NewAuthenticatorOut(BaseModel):
    """The key of the authenticator being set up: enter it in the app (or the URI as a QR
    code), then confirm a code from it. The old key works until then."""

    secret: str
    uri: str


class AuthenticatorConfirm(BaseModel):
    """A code from the new authenticator."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "492817"}]})

    code: str = Field(max_length=64)


class UserListQuery(PageQuery):
    """Plain filters for GET /users: a role, a team, active or disabled accounts."""

    role: Role | None = None
    team_id: uuid.UUID | None = None
    active: bool | None = None
