"""The intake interview page (`/cases/new`): an interview is never lost (kept encrypted for
its account when the session lapsed, restored after sign-in, gone after a day or once
saved), errors sit beside their fields with everything typed given back, nothing is written
on a refusal, and the duplicate check links only what the caseworker may open."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.cases import drafts, duplicates
from app.cases import service as case_service
from app.cases.models import Case, InterviewDraft
from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from app.users.service import team_ids_of
from tests.factories import make_case, make_team, make_user
from tests.pages.registry import Visitor
from tests.pages.visits.intake import sign_in_again

# A whole interview, synthetic, with a canary in every field typed as text.
INTERVIEW = {
    "legal_name": "Kanareikin Pyotr Ilyich",
    "aliases": "Канарейкин Пётр\nPetya Kanareika",
    "date_of_birth": "1987-03-09",
    "citizenship": "RU",
    "languages": "ru, ka",
    "family": "Kanareika family, daughter of three",
    "current_country": "GE",
    "current_city": "Kanareechny Posad",
    "contact1_channel": "telegram",
    "contact1_value": "@canary_tg_4471",
    "contact2_channel": "phone",
    "contact2_value": "+995 555 44 71 99",
    "situation": "deserted",
    "service_status": "mobilised",
    "unit": "Unit 44710 canary",
    "left_service_on": "2025-02-17",
    "criminal_article": "337",
    "criminal_status": "opened in absentia",
    "criminal_notes": "Canary criminal case 4471",
    "wanted_status": "national",
    "wanted_notes": "Canary wanted notes",
    "document1_type": "military_id",
    "document1_expires": "2030-01-31",
    "risk_level": "high",
    "risk_flags": "Canary extradition risk",
    "consent_basis": "consent",
    "intake_notes": "Canary interview: left his unit at night near Belgorod",
}
NEEDS = ["legal", "documents"]
CANARIES = [
    "Kanareikin",
    "Kanareika",
    "Канарейкин",
    "canary_tg_4471",
    "555 44 71 99",
    "Unit 44710",
    "Canary criminal",
    "Canary wanted",
    "Canary extradition",
    "Canary interview",
    "Kanareechny",
]


@pytest.fixture
def visitor(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _form(v: Visitor) -> str:
    page = v.client.get("/cases/new")
    assert page.status_code == 200, page.text[:300]
    return v.csrf(page.text)


def _post(v: Visitor, data: dict[str, str], needs: list[str] = NEEDS) -> httpx.Response:
    body: dict[str, str | list[str]] = {**data, "needs": needs}
    return v.client.post("/cases/new", data=body, follow_redirects=False)


def _cases(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Case)) or 0)


def _drafts(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(InterviewDraft)) or 0)


def _lapse(v: Visitor, settings: Settings) -> None:
    v.clock.advance(timedelta(minutes=settings.session_idle_minutes + 5))


def _raw_tables(db: Session) -> str:
    """Every row of every table as the database holds it (bytes decoded leniently)."""
    names = db.execute(
        text("SELECT name FROM sqlite_master WHERE type='table'")
        if db.get_bind().dialect.name == "sqlite"
        else text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    out = []
    for name in names:
        for row in db.execute(text(f'SELECT * FROM "{name}"')):  # noqa: S608 - table names
            for value in row:
                if isinstance(value, bytes | memoryview):
                    out.append(bytes(value).decode("utf-8", "replace"))
                else:
                    out.append(str(value))
    return "\n".join(out)


def _kept(v: Visitor, settings: Settings) -> tuple[User, str]:
    """Sign in, open the form, let the session lapse, send the interview: the account and
    where the next sign-in continues."""
    user = v.signed_in(Role.CASEWORKER)
    token = _form(v)
    _lapse(v, settings)
    r = _post(v, INTERVIEW | {"csrf_token": token})
    assert r.status_code == 303, r.text[:300]
    assert r.headers["location"] == "/login?done=interview_kept"
    return user, r.headers["location"]


def test_an_interview_sent_after_the_session_lapsed_comes_back_whole_after_sign_in(
    visitor: Visitor, db: Session, settings: Settings
) -> None:
    user, _ = _kept(visitor, settings)
    assert _drafts(db) == 1
    assert _cases(db) == 0
    login = visitor.client.get("/login?done=interview_kept")
    assert "Everything you typed is kept" in login.text
    # The database holds none of it in the clear; the audit log names fields, not values.
    raw = _raw_tables(db)
    assert not [c for c in CANARIES if c in raw]
    kept = db.scalars(select(AuditEntry).where(AuditEntry.action == "case.interview_kept")).one()
    assert kept.actor_id == user.id
    assert "legal_name" in kept.fields
    assert "intake_notes" in kept.fields
    # The last sign-in step continues to the kept interview (an opaque id, nothing else).
    where = sign_in_again(visitor, user).headers["location"]
    assert re.fullmatch(r"/cases/new\?draft=[0-9a-f-]{36}", where), where
    page = visitor.client.get(where)
    assert page.status_code == 200
    shown = html.unescape(page.text)
    for name, value in INTERVIEW.items():
        selects = ("_channel", "_type", "wanted_status", "service_status", "_level", "_basis")
        if name.endswith(selects) or name in ("citizenship", "current_country", "situation"):
            assert f'value="{value}" selected' in shown, name
        else:
            assert value in shown, name
    for need in NEEDS:
        assert f'value="{need}" checked' in shown
    # Saving it opens the case and destroys the kept interview.
    token = visitor.csrf(page.text)
    draft = where.split("=")[1]
    r = _post(visitor, INTERVIEW | {"csrf_token": token, "draft": draft})
    assert r.status_code == 303, r.text[:500]
    assert r.headers["location"].startswith("/cases/")
    assert "done=case_created" in r.headers["location"]
    assert _drafts(db) == 0
    assert _cases(db) == 1
    case = db.scalars(select(Case)).one()
    full = case_service.read_full(db, keyring=visitor.client.app.state.keyring, case=case)  # type: ignore[attr-defined]
    assert full["legal_name"] == INTERVIEW["legal_name"]
    assert full["contacts"][1]["value"] == INTERVIEW["contact2_value"]
    assert full["criminal_case"]["article"] == "337"
    assert full["needs"] == NEEDS
    assert [c["purpose"] for c in full["consents"]] == ["store"]
    assert case.assigned_to == user.id


def test_another_account_cannot_restore_a_kept_interview(
    visitor: Visitor, client: TestClient, db: Session, settings: Settings
) -> None:
    owner, _ = _kept(visitor, settings)
    draft = db.scalars(select(InterviewDraft)).one()
    client.cookies.clear()
    other = visitor.signed_in(Role.CASEWORKER)
    assert other.id != owner.id
    r = client.get(f"/cases/new?draft={draft.id}")
    assert r.status_code == 404
    assert not [c for c in CANARIES if c in r.text]
    assert "cannot be opened" in r.text
    # Nor by moving the ciphertext to a draft of its own: it is bound to the account.
    keyring = client.app.state.keyring  # type: ignore[attr-defined]
    from app.policy.deps import Actor, AuthMethod

    actor = Actor(other.id, Role.CASEWORKER, frozenset(), AuthMethod.SESSION, draft.id, None)
    draft.user_id = other.id
    db.flush()
    with pytest.raises(Exception, match="field interview_draft"):
        drafts.restore(db, keyring=keyring, actor=actor, draft_id=draft.id, now=visitor.clock.now())


def test_a_kept_interview_is_gone_a_day_later(
    visitor: Visitor, db: Session, settings: Settings
) -> None:
    user, _ = _kept(visitor, settings)
    draft = db.scalars(select(InterviewDraft)).one()
    visitor.clock.advance(drafts.LIFETIME + timedelta(minutes=1))
    sign_in_again(visitor, user)
    r = visitor.client.get(f"/cases/new?draft={draft.id}")
    assert r.status_code == 404
    assert drafts.purge(db, now=visitor.clock.now()) == 1
    assert _drafts(db) == 0


def test_without_a_session_nothing_is_kept_and_the_page_says_so(
    client: TestClient, db: Session
) -> None:
    r = client.post("/cases/new", data=INTERVIEW | {"csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 401
    assert "nothing of this form was kept" in r.text
    assert not [c for c in CANARIES if c in r.text]
    assert _drafts(db) == 0


def test_a_lapsed_session_keeps_nothing_without_its_csrf_token(
    visitor: Visitor, db: Session, settings: Settings
) -> None:
    visitor.signed_in(Role.CASEWORKER)
    _form(visitor)
    _lapse(visitor, settings)
    r = _post(visitor, INTERVIEW | {"csrf_token": "forged"})
    assert r.status_code == 403
    assert _drafts(db) == 0


def test_a_signed_out_session_keeps_nothing(visitor: Visitor, db: Session) -> None:
    visitor.signed_in(Role.CASEWORKER)
    token = _form(visitor)
    cookie = dict(visitor.client.cookies)
    visitor.client.post("/logout", data={"csrf_token": token})
    visitor.client.cookies.update(cookie)
    r = _post(visitor, INTERVIEW | {"csrf_token": token})
    assert r.status_code == 401
    assert _drafts(db) == 0


def test_mistakes_come_back_beside_their_fields_with_everything_typed(
    visitor: Visitor, db: Session
) -> None:
    visitor.signed_in(Role.CASEWORKER)
    token = _form(visitor)
    bad = INTERVIEW | {
        "date_of_birth": "2999-01-01",
        "contact2_value": "not a phone",
        "languages": "Russian, Klingonese",
        "consent_basis": "",
        "csrf_token": token,
    }
    r = _post(visitor, bad)
    assert r.status_code == 422
    page = html.unescape(r.text)
    for name in ("date_of_birth", "contact2_value", "languages", "consent_basis"):
        assert f'id="f-{name}-error"' in page, name
        assert re.search(rf'id="f-{name}"[^>]*aria-describedby="[^"]*f-{name}-error', page), name
    assert "Check this contact" in page
    # The summary at the top names each field in words and links to it.
    assert '<a href="#f-contact2_value">Contact 2</a>: Check this contact' in page
    assert '<a href="#f-date_of_birth">Date of birth</a>: This date is in the future.' in page
    assert "This date is in the future." in page
    assert 'id="f-contact1_value-error"' not in page  # the first contact was right
    assert INTERVIEW["intake_notes"] in page
    assert "not a phone" in page
    assert _cases(db) == 0


def test_without_a_recorded_basis_nothing_is_saved(visitor: Visitor, db: Session) -> None:
    visitor.signed_in(Role.CASEWORKER)
    r = _post(visitor, INTERVIEW | {"consent_basis": "", "csrf_token": _form(visitor)})
    assert r.status_code == 422
    assert 'id="f-consent_basis-error"' in r.text
    assert _cases(db) == 0


def test_a_form_without_the_csrf_token_is_refused_and_writes_nothing(
    visitor: Visitor, db: Session
) -> None:
    visitor.signed_in(Role.CASEWORKER)
    _form(visitor)
    assert _post(visitor, INTERVIEW).status_code == 403
    assert _post(visitor, INTERVIEW | {"csrf_token": "wrong"}).status_code == 403
    assert _cases(db) == 0
    assert _drafts(db) == 0


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.AUDITOR, Role.ADMIN])
def test_roles_that_do_not_take_intakes_get_the_403_page(
    visitor: Visitor, db: Session, role: Role
) -> None:
    visitor.signed_in(role)
    assert visitor.client.get("/cases/new").status_code == 403
    home = visitor.client.get("/")
    r = _post(visitor, INTERVIEW | {"csrf_token": visitor.csrf(home.text)})
    assert r.status_code == 403
    assert _cases(db) == 0


def test_a_stale_session_opening_the_form_goes_to_sign_in(
    visitor: Visitor, settings: Settings
) -> None:
    visitor.signed_in(Role.CASEWORKER)
    _lapse(visitor, settings)
    r = visitor.client.get("/cases/new", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_the_duplicate_check_links_own_matches_and_only_flags_others(
    visitor: Visitor, db: Session
) -> None:
    worker = visitor.signed_in(Role.CASEWORKER)
    keyring = visitor.client.app.state.keyring  # type: ignore[attr-defined]
    person = {"legal_name": "Oleg Primerov", "date_of_birth": "1998-03-14"}
    team = db.get_one(type(make_team(db)), team_ids_of(db, worker.id)[0])
    mine = make_case(db, keyring=keyring, team=team, assigned_to=worker, values=person)
    other_team = make_team(db)
    theirs = make_case(
        db,
        keyring=keyring,
        team=other_team,
        assigned_to=make_user(db, Role.CASEWORKER, teams=[other_team]),
        values=person,
    )
    typed = {"legal_name": "Primerov Oleg", "date_of_birth": "1998-03-14", "action": "check"}
    r = _post(visitor, typed | {"csrf_token": _form(visitor)}, needs=[])
    assert r.status_code == 200
    assert f'href="/cases/{mine.id}"' in r.text
    assert mine.case_code in r.text
    assert theirs.case_code not in r.text
    assert str(theirs.id) not in r.text
    assert "Another team's case may be the same person" in html.unescape(r.text)
    assert 'value="Primerov Oleg"' in r.text  # the form comes back as typed
    assert _cases(db) == 2


def test_the_duplicate_check_says_what_it_needs(visitor: Visitor) -> None:
    visitor.signed_in(Role.CASEWORKER)
    typed = {"legal_name": "Oleg", "action": "check"}
    r = _post(visitor, typed | {"csrf_token": _form(visitor)}, needs=[])
    assert r.status_code == 200
    assert "To check, give the legal name with the date of birth" in r.text


def test_the_background_purge_destroys_kept_interviews_a_day_old_from_the_start(
    visitor: Visitor,
    db: Session,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    _kept(visitor, settings)
    purger = drafts.DraftPurger(session_factory, clock=visitor.clock, interval=3600)
    purger._first()  # what the thread runs first, at start
    assert _drafts(db) == 1  # not yet a day old
    visitor.clock.advance(drafts.LIFETIME)
    purger._first()
    assert _drafts(db) == 0


def test_a_caseworker_of_two_teams_chooses_the_case_s_team(visitor: Visitor, db: Session) -> None:
    first, second = make_team(db), make_team(db)
    worker = make_user(db, Role.CASEWORKER, teams=[first, second])
    sign_in_again(visitor, worker)
    page = visitor.client.get("/cases/new")
    assert 'id="f-team_id"' in page.text
    assert first.name in page.text
    assert second.name in page.text
    r = _post(visitor, INTERVIEW | {"csrf_token": visitor.csrf(page.text)})
    assert r.status_code == 422
    assert 'id="f-team_id-error"' in r.text
    assert _cases(db) == 0
    chosen = INTERVIEW | {"team_id": str(second.id), "csrf_token": visitor.csrf(page.text)}
    assert _post(visitor, chosen).status_code == 303
    assert db.scalars(select(Case.team_id)).one() == second.id


def test_sign_in_continues_only_to_a_path_on_this_site(
    visitor: Visitor, client: TestClient
) -> None:
    user = visitor.person(Role.CASEWORKER)
    for hostile in ("//evil.example/x", "https://evil.example/", "/cases/new?draft=<b>"):
        client.cookies.set("__Host-haven_resume", hostile)
        assert sign_in_again(visitor, user).headers["location"] == "/"
        visitor.clock.advance(timedelta(seconds=31))  # the next code step
        client.cookies.clear()
    client.cookies.set("__Host-haven_resume", "/cases?mine=true")
    assert sign_in_again(visitor, user).headers["location"] == "/cases?mine=true"


def test_a_bearer_token_never_keeps_an_interview(client: TestClient, db: Session) -> None:
    r = client.post(
        "/cases/new",
        data=INTERVIEW,
        headers={"authorization": "Bearer hvn_not-a-token"},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert _drafts(db) == 0


def test_too_many_duplicate_checks_come_back_as_a_message_with_the_form_kept(
    visitor: Visitor, db: Session
) -> None:
    visitor.signed_in(Role.CASEWORKER)
    token = _form(visitor)
    typed = {"legal_name": "Oleg Primerov", "date_of_birth": "1998-03-14", "action": "check"}
    for _ in range(duplicates.CHECKS_PER_WINDOW):
        assert _post(visitor, typed | {"csrf_token": token}, needs=[]).status_code == 200
    r = _post(visitor, typed | {"csrf_token": token}, needs=[])
    assert r.status_code == 429
    assert "Retry-After" in r.headers
    assert 'value="Oleg Primerov"' in r.text
    assert 'role="alert"' in r.text
    assert _cases(db) == 0


def test_an_account_keeps_at_most_five_interviews(
    visitor: Visitor, db: Session, settings: Settings
) -> None:
    user = visitor.signed_in(Role.CASEWORKER)
    for _ in range(drafts.MAX_PER_ACCOUNT + 2):
        token = _form(visitor)
        _lapse(visitor, settings)
        assert _post(visitor, INTERVIEW | {"csrf_token": token}).status_code == 303
        sign_in_again(visitor, user)
    assert _drafts(db) == drafts.MAX_PER_ACCOUNT
