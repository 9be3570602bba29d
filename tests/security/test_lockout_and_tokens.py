"""Lockout, throttling and unlock; bearer tokens issued, expiring and revoked; TOTP replay
and recovery-code reuse refused at sign-in."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.policy.permissions import Role
from app.security import throttle
from app.security.clock import FrozenClock
from app.users.signin import issue_recovery_codes
from tests.factories import PASSWORD, auth, bearer, code_for, make_team, make_user

TOKEN = "/api/v1/auth/token"


def _token(client: TestClient, email: str, password: str = PASSWORD, totp: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(TOKEN, json={"email": email, "password": password, "totp": totp})


def test_token_with_all_factors(client: TestClient, db: Session, clock: FrozenClock) -> None:
    user = make_user(db, Role.CASEWORKER)
    r = _token(client, user.email, totp=code_for(user, clock))
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("hvn_")
    me = client.get("/api/v1/me", headers=auth(body["access_token"]))
    assert me.json()["id"] == str(user.id)
    assert me.json()["csrf_token"] is None


def test_token_needs_totp_for_mandatory_roles(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.AUDITOR)
    assert _token(client, user.email).status_code == 401
    assert _token(client, user.email, totp="123456").status_code in (401,)


def test_a_code_in_other_digits_is_a_wrong_code_not_an_error(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """Arabic-Indic and full-width digits pass str.isdigit(); they must be refused like any
    wrong code (401, counted towards the lockout), never reach the comparison as text."""
    user = make_user(db, Role.COORDINATOR)
    code = code_for(user, clock)
    for other in ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９"):
        lookalike = code.translate(str.maketrans("0123456789", other))
        assert _token(client, user.email, totp=lookalike).status_code == 401


def test_totp_replay_is_refused(client: TestClient, db: Session, clock: FrozenClock) -> None:
    user = make_user(db, Role.COORDINATOR)
    code = code_for(user, clock)
    assert _token(client, user.email, totp=code).status_code == 200
    replay = _token(client, user.email, totp=code)
    assert replay.status_code == 401
    clock.advance(timedelta(seconds=30))
    assert _token(client, user.email, totp=code_for(user, clock)).status_code == 200


def test_recovery_code_works_once(client: TestClient, db: Session, clock: FrozenClock) -> None:
    from tests.security.test_signin_pages import csrf_of, sign_in

    user = make_user(db, Role.CASEWORKER)
    codes = issue_recovery_codes(db, user=user, now=clock.now())

    def second_step(code: str) -> int:
        client.cookies.clear()
        sign_in(client, user.email)
        page = client.get("/login/totp")
        r = client.post(
            "/login/totp",
            data={"code": code, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        return r.status_code

    assert second_step(codes[0]) == 303
    assert client.get("/api/v1/me").status_code == 200
    assert second_step(codes[0]) == 401
    assert second_step(codes[1].upper().replace("-", " ")) == 303


def test_unknown_account_and_wrong_password_answer_alike(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    wrong = _token(client, user.email, "not-the-password-at-all")
    unknown = _token(client, "nobody-here@example.invalid", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    disabled = make_user(db, Role.VOLUNTEER, enrolled=False)
    disabled.disabled_at = disabled.created_at
    db.flush()
    assert _token(client, disabled.email).json() == wrong.json()


def test_five_failures_lock_for_fifteen_minutes_known_or_not(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    for email in (user.email, "nobody-here@example.invalid"):
        answers = [_token(client, email, "wrong-password-x").status_code for _ in range(5)]
        assert answers == [401, 401, 401, 401, 423]
        assert _token(client, email).status_code == 423  # even the right password
    assert _token(client, user.email).json()["code"] == "locked"
    clock.advance(timedelta(minutes=15))
    assert _token(client, user.email).status_code == 200
    locked = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.account_locked"))
    assert len(locked.all()) == 2


def test_coordinator_unlocks_a_team_member_but_not_a_stranger(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    team, other_team = make_team(db), make_team(db)
    member = make_user(db, Role.VOLUNTEER, teams=[team], enrolled=False)
    stranger = make_user(db, Role.VOLUNTEER, teams=[other_team], enrolled=False)
    for u in (member, stranger):
        for _ in range(5):
            _token(client, u.email, "wrong-password-x")
    coordinator = make_user(db, Role.COORDINATOR, teams=[team])
    headers = auth(bearer(db, coordinator, clock=clock, settings=settings))
    assert client.post(f"/api/v1/users/{stranger.id}/unlock", headers=headers).status_code == 404
    r = client.post(f"/api/v1/users/{member.id}/unlock", headers=headers)
    assert r.json() == {"was_locked": True}
    assert _token(client, member.email).status_code == 200
    assert _token(client, stranger.email).status_code == 423
    worker = make_user(db, Role.CASEWORKER, teams=[team])
    r = client.post(
        f"/api/v1/users/{stranger.id}/unlock",
        headers=auth(bearer(db, worker, clock=clock, settings=settings)),
    )
    assert r.status_code == 403
    admin = make_user(db, Role.ADMIN)
    r = client.post(
        f"/api/v1/users/{stranger.id}/unlock",
        headers=auth(bearer(db, admin, clock=clock, settings=settings)),
    )
    assert r.json() == {"was_locked": True}


def test_one_address_is_throttled_across_accounts(client: TestClient, db: Session) -> None:
    statuses = [
        _token(client, f"spray-{i}@example.invalid", "wrong-password-x").status_code
        for i in range(throttle.ADDRESS_MAX_FAILURES + 1)
    ]
    assert statuses[-1] == 429
    assert 429 not in statuses[: throttle.ADDRESS_MAX_FAILURES]


def test_failures_and_locks_are_audited_without_values(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    _token(client, user.email, "canary-password-value")
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed")).all()
    assert entries
    assert entries[-1].actor_id == user.id
    dumped = " ".join(str(vars(e)) for e in entries)
    assert "canary-password-value" not in dumped
    assert user.email not in dumped


def test_revoked_token_is_refused(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    token = bearer(db, user, clock=clock, settings=settings)
    keep = bearer(db, user, clock=clock, settings=settings)
    assert client.delete(TOKEN, headers=auth(token)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401
    assert client.get("/api/v1/me", headers=auth(keep)).status_code == 200


def test_token_expires_after_eight_hours(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    token = bearer(db, make_user(db, Role.VOLUNTEER), clock=clock, settings=settings)
    clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


def test_a_bad_bearer_never_falls_back_to_the_cookie(client: TestClient, db: Session) -> None:
    from tests.security.test_signin_pages import sign_in

    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=auth("hvn_forged")).status_code == 401


def test_reauth_refreshes_the_window(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.COORDINATOR)
    token = bearer(db, user, clock=clock, settings=settings)
    clock.advance(timedelta(minutes=10))
    bad = client.post(
        "/api/v1/auth/reauth", json={"password": PASSWORD, "totp": "000000"}, headers=auth(token)
    )
    assert bad.status_code == 401
    r = client.post(
        "/api/v1/auth/reauth",
        json={"password": PASSWORD, "totp": code_for(user, clock)},
        headers=auth(token),
    )
    assert r.status_code == 200
    reauths = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.reauth")).all()
    assert len(reauths) == 1


def test_sign_in_rehashes_when_parameters_change(client: TestClient, db: Session) -> None:
    from app.security import passwords

    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    before = user.password_hash
    passwords.use_params(passwords.HashParams(time_cost=2, memory_cost_kib=16, parallelism=1))
    try:
        assert _token(client, user.email).status_code == 200
    finally:
        passwords.use_params(passwords.HashParams(time_cost=1, memory_cost_kib=8, parallelism=1))
    db.expire_all()
    assert user.password_hash != before
    assert "t=2" in user.password_hash
