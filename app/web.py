"""What every area's `pages.py` shares: the templates (gettext, filters, the language
switcher), `render`, `see_other` and the check that a return path stays on this site.

Pages render through `PageTemplates`, which translates each template into the request's
locale (`app.i18n.negotiation.locale_of`) and gives every template `lang`, `languages` and
the switcher's data, so no page can forget them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import jinja2
from fastapi.responses import RedirectResponse
from fastapi.routing import iter_route_contexts
from fastapi.templating import Jinja2Templates
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import _TemplateResponse

from app.cases import labels as case_labels
from app.config import Settings
from app.i18n import LANGUAGE_NAMES, LOCALES, LazyText, activated, lazy
from app.i18n.catalogs import load_all
from app.i18n.core import raw_gettext, raw_ngettext
from app.i18n.countries import country_name
from app.i18n.formatting import FILTERS
from app.i18n.negotiation import locale_of, viewer_of
from app.policy.permissions import Permission, Role, allows
from app.static import static_url
from app.users import labels as user_labels

_RETURN_PATH_MAX = 2_000


def safe_return_path(value: object) -> str:
    """value when it is a path on this site (`/…`), else `/`: never another host.

    `//host`, `/\\host` (browsers read a backslash as a slash), a scheme, control
    characters or an overlong value all fall back to the start page. Only the path is kept:
    a query could carry what the link should not repeat."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > _RETURN_PATH_MAX:
        return "/"
    if value.startswith("//") or "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return "/"
    return parts.path


# Where a sign-in continues once complete (an interview kept when its session lapsed, say):
# set by the page that sent the browser to sign in, followed once by the last sign-in step.
RESUME_COOKIE = "haven_resume"
_RESUME_QUERY = re.compile(r"[A-Za-z0-9=&_-]{0,120}")


def _resume_cookie(settings: Settings) -> str:
    return ("__Host-" if settings.secure_cookies else "") + RESUME_COOKIE


def resume_after_sign_in(response: Response, target: str, settings: Settings) -> None:
    """Ask the next completed sign-in in this browser to continue to target (a path on this
    site with an opaque query; never anything about a person), for a day at most."""
    response.set_cookie(
        _resume_cookie(settings),
        target,
        max_age=86_400,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def resume_target(request: Request, settings: Settings) -> str:
    """Where a completed sign-in goes: the path resume_after_sign_in asked for, else `/`."""
    value = request.cookies.get(_resume_cookie(settings), "")
    path, _, query = value.partition("?")
    if not value or safe_return_path(path) != path or not _RESUME_QUERY.fullmatch(query):
        return "/"
    return value


def forget_resume(response: Response, settings: Settings) -> None:
    """The resume path is followed once: forget it."""
    response.delete_cookie(
        _resume_cookie(settings), path="/", secure=settings.secure_cookies, httponly=True
    )


def translate(message: object) -> str:
    """A message marked with N_ elsewhere (a HavenError's), translated for this page."""
    return str(message) if isinstance(message, LazyText) else raw_gettext(str(message))


@dataclass(frozen=True)
class NavItem:
    """One entry of the header's menu, shown to the roles that hold its permission."""

    path: str
    label: LazyText
    permission: Permission


# The menu, in order. Each page area adds its entry here; a role sees only what it may use.
NAV: tuple[NavItem, ...] = (
    NavItem("/board", lazy("Board"), Permission.CASE_ASSIGN),
    NavItem("/cases", lazy("Cases"), Permission.CASE_LIST),
    NavItem("/cases/new", lazy("New intake"), Permission.CASE_CREATE),
    NavItem("/tasks", lazy("Tasks"), Permission.TASK_READ),
    NavItem("/audit", lazy("Audit log"), Permission.AUDIT_READ),
    NavItem("/reports", lazy("Reports"), Permission.REPORT_READ),
    NavItem("/admin/users", lazy("Accounts"), Permission.USER_READ),
    NavItem("/partners", lazy("Partners"), Permission.PARTNER_WRITE),
    NavItem("/seal", lazy("Seal"), Permission.SYS_SEAL),
    NavItem("/account", lazy("My account"), Permission.SELF_READ),
)

# Where each role's day starts (`/` sends them there).
HOME: dict[Role, str] = {
    Role.COORDINATOR: "/board",
    Role.CASEWORKER: "/cases?mine=true",
    Role.VOLUNTEER: "/tasks",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/admin/users",
}


def home_of(app: Any, role: Role) -> str | None:
    """Where `/` sends role: its HOME, when this app serves that page (None otherwise)."""
    target = HOME.get(role)
    if target is None:
        return None
    path = urlsplit(target).path
    served = any(ctx.path == path for ctx in iter_route_contexts(app.routes))
    return target if served else None


# What a page says after a POST that succeeded (`see_other(url, done="code")`): the code
# travels in the URL, so it names an outcome, never anything about a person.
NOTICES: dict[str, LazyText] = {
    "saved": lazy("Saved."),
    "language": lazy("Your language is saved."),
    "assigned": lazy("The case is assigned."),
    "vetted": lazy("The request is marked."),
    "access_approved": lazy("Access approved."),
    "access_rejected": lazy("Access request rejected."),
    "partner_added": lazy("The partner is added."),
    "partner_confirmed": lazy("The fingerprint is confirmed: referrals can go to this partner."),
    # admin's area: my account, accounts, teams
    "password": lazy("Your password is changed. Sign in with the new one."),
    "sessions_ended": lazy("Every other session of your account has ended."),
    "account_updated": lazy("The account is changed."),
    "access_requested": lazy("The change waits for a coordinator of the team to approve it."),
    "account_disabled": lazy("The account is disabled; its sessions have ended."),
    "account_enabled": lazy("The account is enabled again."),
    "account_unlocked": lazy("The account is unlocked."),
    "account_sessions_ended": lazy("Every session of the account has ended."),
    "team_created": lazy("The team is created."),
    # The case file (app/cases/file_pages.py, file_acts.py).
    "consent_recorded": lazy("The consent is recorded."),
    "consent_withdrawn": lazy("The consent is withdrawn."),
    "stage_moved": lazy("The case moved to its new stage."),
    "hold_set": lazy("The case is on legal hold."),
    "hold_lifted": lazy("The legal hold is lifted."),
    "erasure_requested": lazy(
        "Erasure asked for. A second coordinator of the team must approve it."
    ),
    "erased": lazy("The case is erased."),
    "break_glass": lazy("Break-glass access is open for one hour."),
    # attachments: documents, referrals, tasks
    "uploaded": lazy("The document is stored, encrypted."),
    "referral_drafted": lazy("The referral is prepared. Check it, then send it."),
    "referral_sent": lazy(
        "The packet is sealed for this partner. Download it and deliver it the way you agreed "
        "with them: Haven does not send it."
    ),
    "referral_updated": lazy("The referral's status is changed."),
    "task_created": lazy("The task is given to the volunteer."),
    "task_accepted": lazy("You accepted the task."),
    "task_done": lazy("The task is marked done. Thank you."),
    "task_note": lazy("Your note is saved."),
    "task_cancelled": lazy("The task is called off. The volunteer sees it as cancelled."),
    # == intake ==
    "case_created": lazy("The case is opened. Its code is at the top of the page."),
    "interview_kept": lazy(
        "Your session ended before the interview was saved. Everything you typed is kept, "
        "encrypted, for one day: sign in and it comes back."
    ),
    "request_withdrawn": lazy("The change is withdrawn; nothing of it was applied."),
    "authenticator": lazy("Your new authenticator is set up; the old one no longer works."),
}


# The vocabularies a template may name: `{{ label("need", value) }}`.
LABELS: dict[str, Mapping[Any, LazyText]] = {
    "stage": case_labels.STAGES,
    "risk": case_labels.RISK_LEVELS,
    "situation": case_labels.SITUATIONS,
    "need": case_labels.NEEDS,
    "outcome_kind": case_labels.OUTCOME_KINDS,
    "service_status": case_labels.SERVICE_STATUSES,
    "wanted": case_labels.WANTED_STATUSES,
    "document_type": case_labels.DOCUMENT_TYPES,
    "vetting": case_labels.VETTING_STATUSES,
    "purpose": case_labels.CONSENT_PURPOSES,
    "basis": case_labels.LEGAL_BASES,
    "channel": case_labels.CONTACT_CHANNELS,
    "field": case_labels.FIELDS,
    "role": user_labels.ROLES,
}


def vocabulary_label(kind: str, value: str | None) -> LazyText | str:
    """A stored value of a vocabulary as a page names it, in the page's language."""
    return case_labels.label(LABELS[kind], value)


def _menu(role: str | None) -> list[NavItem]:
    if role is None:
        return []
    return [item for item in NAV if allows(Role(role), item.permission)]


def page_context(request: Request) -> dict[str, Any]:
    """What every template can use: the locale, the switcher's languages, the viewer, the
    menu for their role, and the notice of what just succeeded."""
    viewer = viewer_of(request)
    done = request.query_params.get("done", "")
    return {
        "lang": locale_of(request),
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "switcher_csrf": viewer.csrf_token if viewer else None,
        "viewer": viewer,
        "menu": _menu(viewer.role if viewer and viewer.csrf_token else None),
        "notice": NOTICES.get(done),
        "here": safe_return_path(request.url.path),
    }


class PageTemplates(Jinja2Templates):
    """Jinja2Templates that render each page in its request's language."""

    def TemplateResponse(  # noqa: N802, PLR0917 - Starlette's name and signature, overridden
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> _TemplateResponse:
        """Render name with context, translated into the request's locale."""
        with activated(locale_of(request)):
            return super().TemplateResponse(
                request, name, context, status_code, headers, media_type, background
            )


def make_templates(directory: Path) -> PageTemplates:
    """The page templates: autoescaped, gettext (new style), Babel filters, static URLs.
    Every catalog is loaded here, so a broken one stops the start."""
    load_all(LOCALES)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    # {% trans %} blocks may wrap over lines: their msgid is the text with whitespace joined
    # (babel.cfg extracts with `trimmed = true` to match).
    env.policies["ext.i18n.trimmed"] = True
    # Added to the environment by the i18n extension; mypy cannot see it.
    cast(Any, env).install_gettext_callables(raw_gettext, raw_ngettext, newstyle=True)
    env.filters.update(FILTERS)
    env.filters["translate"] = translate
    env.globals["static_url"] = static_url
    env.globals["label"] = vocabulary_label
    env.globals["country_name"] = country_name
    env.globals["stage_label"] = lambda value: vocabulary_label("stage", value)
    env.globals["risk_label"] = lambda value: vocabulary_label("risk", value)
    return PageTemplates(env=env, context_processors=[page_context])


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """The page name rendered for request (with an empty `errors` unless given)."""
    context = dict(context or {})
    context.setdefault("errors", {})
    templates: PageTemplates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status)


def see_other(url: str, *, done: str | None = None) -> RedirectResponse:
    """The 303 a page answers after a POST (or a switch) succeeded; `done` names a notice
    (NOTICES) the next page shows."""
    if done is not None:
        if done not in NOTICES:
            raise ValueError(f"unknown notice {done!r}")
        url += ("&" if "?" in url else "?") + "done=" + done
    return RedirectResponse(url, status_code=303)
