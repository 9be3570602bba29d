"""The coordinator's pages: the triage board (with every list filled, and empty), approving
an access request, the partners, and the panic seal (the form, its refusal, the sealed
pages). `coordinator_world` builds a team with one of everything the board shows; the page
tests (tests/pages/test_board.py …) use it too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.cases import break_glass
from app.cases import service as case_service
from app.cases.models import Case
from app.intake.service import SOURCE as SELF_REFERRAL
from app.policy.permissions import Role
from app.referrals.models import Partner
from app.users import grants
from app.users.models import AccessRequest, Team, TeamMembership, User
from tests.factories import (
    PASSWORD,
    actor_of,
    code_for,
    make_case,
    make_partner,
    make_task,
    make_team,
    make_user,
)
from tests.pages.registry import PageVisit, Visitor


@dataclass
class CoordinatorWorld:
    """A signed-in coordinator's team with a new request, a case waiting for a caseworker,
    a hearing tomorrow, an overdue task, an access request and a break-glass use."""

    coordinator: User
    team: Team
    caseworker: User
    request: Case
    unassigned: Case
    access: AccessRequest
    partner: Partner


def team_of(v: Visitor, user: User) -> Team:
    """The (first) team of an account."""
    team_id = v.db.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id))
    return v.db.get_one(Team, team_id.first())


def self_referral(v: Visitor, team: Team, pseudonym: str = "Лесник") -> Case:
    """A request as the public form leaves it: an unverified, unassigned intake case."""
    values = case_service.validate_fields(
        {
            "aliases": [pseudonym],
            "contacts": [{"channel": "signal", "value": "lesnik_safe.42"}],
            "intake_notes": "Ушёл из части, нужен юрист.",
            "vetting": {"status": "unverified"},
            "current_country": "GE",
            "citizenship": "RU",
        }
    )
    return case_service.create_case(
        v.db,
        keyring=v.db.info["keyring"],
        actor=None,
        team_id=team.id,
        values=values,
        now=v.clock.now(),
        source=SELF_REFERRAL,
    )


def coordinator_world(v: Visitor) -> CoordinatorWorld:
    """Everything the board shows, for a coordinator signed in through the pages."""
    coordinator = v.signed_in(Role.COORDINATOR)
    team = team_of(v, coordinator)
    team.name = f"Vilnius-{uuid.uuid4().hex[:6]}"
    keyring = v.db.info["keyring"]
    now = v.clock.now()
    worker = make_user(v.db, Role.CASEWORKER, teams=[team])
    worker.display_name = "Nino Beridze"
    volunteer = make_user(v.db, Role.VOLUNTEER, teams=[team])
    request = self_referral(v, team)
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    waiting = make_case(
        v.db,
        keyring=keyring,
        team=team,
        now=now - timedelta(days=2),
        values={
            "risk_level": "high",
            "protection": {"hearings": [{"on": tomorrow, "place": "Tbilisi City Court"}]},
        },
    )
    assigned = make_case(v.db, keyring=keyring, team=team, assigned_to=worker, now=now)
    task = make_task(v.db, keyring=keyring, case=assigned, volunteer=volunteer)
    task.due = now - timedelta(days=1)
    # An admin asks for a volunteer of the team to become a caseworker.
    admin = make_user(v.db, Role.ADMIN)
    promoted = make_user(v.db, Role.VOLUNTEER, teams=[team])
    promoted.display_name = "Petra Novak"
    access = grants.request_access(
        v.db, actor=actor_of(v.db, admin), user=promoted, role=Role.CASEWORKER,
        team_ids=[team.id], now=now,
    )  # fmt: skip
    # A caseworker of another team opens one of this team's cases at night.
    outsider = make_user(v.db, Role.CASEWORKER, teams=[make_team(v.db)])
    outsider.display_name = "Oleg Sidorov"
    break_glass.open_grant(
        v.db, actor=actor_of(v.db, outsider), case=assigned, now=now, keyring=keyring,
        reason="Night call from the client's lawyer about tomorrow's hearing.",
    )  # fmt: skip
    partner, _ = make_partner(v.db, f"Rechtshilfe {uuid.uuid4().hex[:6]}", confirmed=False)
    v.db.flush()
    return CoordinatorWorld(
        coordinator=coordinator, team=team, caseworker=worker, request=request,
        unassigned=waiting, access=access, partner=partner,
    )  # fmt: skip


def more_of_everything(v: Visitor, world: CoordinatorWorld, n: int) -> None:
    """n more of every row the board lists."""
    keyring = v.db.info["keyring"]
    volunteer = make_user(v.db, Role.VOLUNTEER, teams=[world.team])
    outsider = make_user(v.db, Role.CASEWORKER, teams=[make_team(v.db)])
    soon = (v.clock.now() + timedelta(days=2)).date().isoformat()
    for i in range(n):
        self_referral(v, world.team, pseudonym=f"Лесник {i}")
        case = make_case(
            v.db, keyring=keyring, team=world.team,
            values={"protection": {"deadlines": [{"on": soon, "what": "Appeal"}]}},
        )  # fmt: skip
        task = make_task(v.db, keyring=keyring, case=case, volunteer=volunteer)
        task.due = v.clock.now() - timedelta(hours=1)
        break_glass.open_grant(
            v.db, actor=actor_of(v.db, outsider), case=case, now=v.clock.now(),
            keyring=keyring, reason="Night call about a hearing moved to the morning.",
        )  # fmt: skip
        make_user(v.db, Role.CASEWORKER, teams=[world.team])
    v.db.flush()


def _board(v: Visitor) -> httpx.Response:
    coordinator_world(v)
    return v.client.get("/board")


def _board_capped(v: Visitor) -> httpx.Response:
    """The board past its count: four of each list, counted to three ("3+")."""
    world = coordinator_world(v)
    more_of_everything(v, world, 3)
    v.setting(list_count_cap=3)
    return v.client.get("/board")


def _empty_board(v: Visitor) -> httpx.Response:
    v.signed_in(Role.COORDINATOR)
    return v.client.get("/board")


def _assign_refused(v: Visitor) -> httpx.Response:
    world = coordinator_world(v)
    page = v.client.get("/board")
    data = {"csrf_token": v.csrf(page.text), "user_id": str(uuid.uuid4())}
    return v.client.post(f"/board/cases/{world.unassigned.id}/assign", data=data)


def _approve(v: Visitor) -> httpx.Response:
    world = coordinator_world(v)
    return reauthenticated(
        v, world.coordinator, f"/board/access-requests/{world.access.id}/approve"
    )


def reauthenticated(v: Visitor, user: User, path: str) -> httpx.Response:
    """GET path after proving password and code again (the dangerous acts ask for it)."""
    v.clock.advance(timedelta(seconds=31))  # a fresh TOTP step: a code works once
    page = v.client.get(f"/account/reauth?next={path}")
    data = {
        "csrf_token": v.csrf(page.text),
        "password": PASSWORD,
        "code": code_for(user, v.clock),
        "next": path,
    }
    return v.client.post("/account/reauth", data=data)


def _approved_with_password(v: Visitor) -> httpx.Response:
    world = coordinator_world(v)
    promoted = v.db.get_one(User, world.access.user_id)
    promoted.totp_enrolled_at = None  # not enrolled yet: a one-time password is issued
    v.db.flush()
    page = reauthenticated(
        v, world.coordinator, f"/board/access-requests/{world.access.id}/approve"
    )
    return v.client.post(
        f"/board/access-requests/{world.access.id}/approve",
        data={"csrf_token": v.csrf(page.text)},
    )


def _seal(v: Visitor) -> httpx.Response:
    v.signed_in(Role.COORDINATOR)
    return v.client.get("/seal")


def _seal_wrong_word(v: Visitor) -> httpx.Response:
    page = _seal(v)
    return v.client.post("/seal", data={"csrf_token": v.csrf(page.text), "confirm": "yes"})


def _sealed_request(v: Visitor) -> httpx.Response:
    v.client.app.state.keyring.seal()  # type: ignore[attr-defined]
    return v.client.get("/request")


def _sealed_after_seal(v: Visitor) -> httpx.Response:
    page = _seal(v)
    word = {"en": "SEAL", "ru": "запечатать", "uk": "запечатати", "be": "запячатаць"}[v.locale]
    return v.client.post("/seal", data={"csrf_token": v.csrf(page.text), "confirm": word})


PAGES: tuple[PageVisit, ...] = (
    PageVisit("board", "GET", "/board", _board),
    PageVisit("board-capped", "GET", "/board", _board_capped),
    PageVisit("board-empty", "GET", "/board", _empty_board),
    PageVisit(
        "board-assign-refused", "POST", "/board/cases/{case_id}/assign", _assign_refused, 422
    ),
    PageVisit("board-approve", "GET", "/board/access-requests/{request_id}/approve", _approve),
    PageVisit(
        "board-approved-password",
        "POST",
        "/board/access-requests/{request_id}/approve",
        _approved_with_password,
    ),
    PageVisit("seal", "GET", "/seal", _seal),
    PageVisit("seal-wrong-word", "POST", "/seal", _seal_wrong_word, 422),
    PageVisit("sealed-after-seal", "POST", "/seal", _sealed_after_seal, 503),
    PageVisit("sealed-request", "GET", "/request", _sealed_request, 503),
)

NOT_PAGES = {
    "/": "sends each role to its home page (app.web.HOME); tests/pages/test_home.py",
}


def _partners(v: Visitor) -> httpx.Response:
    coordinator_world(v)
    return v.client.get("/partners")


def _partners_empty_admin(v: Visitor) -> httpx.Response:
    v.signed_in(Role.ADMIN)
    return v.client.get("/partners")


def _partner_errors(v: Visitor) -> httpx.Response:
    page = _partners_empty_admin(v)
    data = {"csrf_token": v.csrf(page.text), "name": "", "public_key": "not a key", "country": "XX"}
    return v.client.post("/partners", data=data)


def _fingerprint_wrong(v: Visitor) -> httpx.Response:
    world = coordinator_world(v)
    page = v.client.get("/partners")
    data = {"csrf_token": v.csrf(page.text), "key_id": "0000 0000 0000 0000"}
    return v.client.post(f"/partners/{world.partner.id}/confirm", data=data)


PAGES += (
    PageVisit("partners", "GET", "/partners", _partners),
    PageVisit("partners-admin", "GET", "/partners", _partners_empty_admin),
    PageVisit("partners-add-errors", "POST", "/partners", _partner_errors, 422),
    PageVisit(
        "partners-fingerprint-differs",
        "POST",
        "/partners/{partner_id}/confirm",
        _fingerprint_wrong,
        422,
    ),
)
