"""Session edges found by mutation testing (tests/MUTATION.md): the cookie sign-out sends
must be one a browser obeys, the session that replaces a pending one keeps what was known of
the device, and the purge of expired sessions takes exactly the expired ones."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security import sessions
from app.security.clock import FrozenClock
from app.security.models import AuthSession, CredentialKind, SessionStage
from app.security.sessions import SECURE_COOKIE_NAME
from tests.factories import code_for, make_session, make_team, make_user
from tests.security.test_signin_pages import csrf_of, plant, sign_in

FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def _set_cookie(headers: list[str], name: str) -> SimpleCookie:
    lines = [h for h in headers if h.startswith(f"{name}=")]
    assert len(lines) == 1, headers
    jar: SimpleCookie = SimpleCookie()
    jar.load(lines[0])
    return jar


def test_sign_out_sends_a_deletion_the_browser_obeys(client: TestClient, db: Session) -> None:
    """A browser drops a Set-Cookie for a __Host- name unless it is Secure with Path=/: a
    deletion missing either is ignored and the signed-out token stays in the browser (for
    the next person at a shared computer to find)."""
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)
    token = client.cookies.get(SECURE_COOKIE_NAME)
    home = client.get("/")
    r = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    morsel = _set_cookie(r.headers.get_list("set-cookie"), SECURE_COOKIE_NAME)[SECURE_COOKIE_NAME]
    assert morsel.value in ("", '""')
    assert morsel["max-age"] == "0"
    assert morsel["path"] == "/"
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert not morsel["domain"]
    # And the token itself is dead on the server, whatever the browser does.
    plant(client, token or "")
    assert client.get("/api/v1/me").status_code == 401


def test_the_device_name_survives_the_second_factor(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """Completing sign-in replaces the pending session (fixation defence); the new one must
    still say which device it is, or "my sessions" cannot tell a stranger's from one's own."""
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    client.headers["user-agent"] = FIREFOX_ON_LINUX
    assert sign_in(client, user.email).status_code == 303
    page = client.get("/login/totp")
    r = client.post(
        "/login/totp",
        data={"code": code_for(user, clock), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    mine = client.get("/api/v1/me/sessions").json()
    assert [(s["current"], s["agent"]) for s in mine] == [(True, "Firefox, Linux")]


def test_purge_takes_the_expired_sessions_and_only_those(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    made = {}
    for name, age in (("expired", 1), ("at_the_limit", 0), ("live", -1)):
        issued = make_session(
            db, user, clock=clock, settings=settings, expires_in=timedelta(seconds=-age)
        )
        made[name] = issued.session.id
    db.flush()
    assert sessions.purge_expired(db, now=clock.now()) == 2
    db.expire_all()
    left = set(db.scalars(select(AuthSession.id).where(AuthSession.user_id == user.id)))
    assert left == {made["live"]}
    assert sessions.purge_expired(db, now=clock.now()) == 0  # the housekeeping log's count


def test_resolve_answers_a_live_session_only_and_notes_its_use(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """`resolve` (what sign-in uses to end the session the browser held before): a live
    session comes back with its last use moved to now; an expired one or an unknown token
    is None, never the row."""
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    issued = make_session(db, user, clock=clock, settings=settings, kind=CredentialKind.COOKIE)
    clock.advance(sessions.TOUCH_INTERVAL + timedelta(seconds=1))
    found = sessions.resolve(db, issued.token, now=clock.now(), settings=settings)
    assert found is not None
    assert found.id == issued.session.id
    assert found.last_seen_at == clock.now()
    issued.session.expires_at = clock.now() - timedelta(seconds=1)
    db.flush()
    assert sessions.resolve(db, issued.token, now=clock.now(), settings=settings) is None
    assert sessions.resolve(db, "not-a-token", now=clock.now(), settings=settings) is None


def test_ending_sessions_counts_what_it_ended(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """The count is what an admin is told after "end all sessions" (and what the audit
    entry records): it must be the number ended, not a guess."""
    one = make_user(db, Role.VOLUNTEER, enrolled=False)
    other = make_user(db, Role.VOLUNTEER, enrolled=False)
    for user, many in ((one, 2), (other, 1)):
        for _ in range(many):
            make_session(db, user, clock=clock, settings=settings)
    assert sessions.end_for_user(db, one.id) == 2
    assert sessions.end_for_user(db, one.id) == 0
    before = db.scalar(select(func.count()).select_from(AuthSession))
    assert before is not None
    assert before >= 1
    assert sessions.end_all(db) == before
    assert sessions.end_all(db) == 0


def test_a_reauthentication_is_fresh_for_five_minutes_and_not_a_moment_more(
    clock: FrozenClock,
) -> None:
    proved = clock.now()
    window = sessions.REAUTH_WINDOW
    assert window == timedelta(minutes=5)
    assert sessions.reauth_is_fresh(proved, now=proved + window)
    assert not sessions.reauth_is_fresh(proved, now=proved + window + timedelta(microseconds=1))
    assert not sessions.reauth_is_fresh(None, now=proved)


def test_a_new_session_is_stamped_by_the_apps_clock_and_pending_is_not_reauthenticated(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """Times come from the clock the checks use (never a database default), and a session
    that has proved only the password carries no re-authentication."""
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    clock.advance(timedelta(days=3))
    now = clock.now()
    pending = sessions.create(
        db,
        user_id=user.id,
        kind=CredentialKind.COOKIE,
        stage=SessionStage.TOTP,
        now=now,
        settings=settings,
    ).session
    full = sessions.create(
        db,
        user_id=user.id,
        kind=CredentialKind.COOKIE,
        stage=SessionStage.FULL,
        now=now,
        settings=settings,
    ).session
    for row in (pending, full):
        assert (row.created_at, row.last_seen_at) == (now, now)
    assert pending.reauth_at is None
    assert full.reauth_at == now


def test_an_idle_cookie_session_dies_at_the_limit_itself(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    row = make_session(db, user, clock=clock, settings=settings, kind=CredentialKind.COOKIE).session
    idle = timedelta(minutes=settings.session_idle_minutes)
    assert sessions.is_live(
        row, now=row.last_seen_at + idle - timedelta(microseconds=1), settings=settings
    )
    assert not sessions.is_live(row, now=row.last_seen_at + idle, settings=settings)


def test_a_sessions_last_use_is_written_once_its_touch_interval_has_passed(
    db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """The idle limit counts from the last use written down: it is written when 30 s have
    passed since the last write (not one request later), and not before."""
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    row = make_session(db, user, clock=clock, settings=settings, kind=CredentialKind.COOKIE).session
    began = row.last_seen_at
    clock.advance(sessions.TOUCH_INTERVAL - timedelta(microseconds=1))
    assert sessions.keep_alive(db, row, now=clock.now(), settings=settings)
    assert row.last_seen_at == began
    clock.advance(timedelta(microseconds=1))
    assert sessions.keep_alive(db, row, now=clock.now(), settings=settings)
    assert row.last_seen_at == began + sessions.TOUCH_INTERVAL


def test_tokens_carry_256_random_bits(db: Session, clock: FrozenClock, settings: Settings) -> None:
    """A session token and its CSRF token are 32 random bytes each (43 base64url letters),
    a bearer token the same behind its prefix: no shorter, and no other size by accident."""
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    for kind in (CredentialKind.COOKIE, CredentialKind.BEARER):
        issued = sessions.create(
            db, user_id=user.id, kind=kind, stage=SessionStage.FULL, now=clock.now(),
            settings=settings,
        )  # fmt: skip
        token = issued.token.removeprefix(sessions.BEARER_PREFIX)
        assert (kind is CredentialKind.BEARER) == issued.token.startswith(sessions.BEARER_PREFIX)
        assert len(token) == 43, kind
        assert len(issued.session.csrf_token) == 43, kind
