"""The request form's validation errors in plain words, beside the field they concern.

The form's reader may be frightened, on a phone, in a second language: every message says
what to do ("Choose a country from the list"), never the rule's wording ("String should have
at most 2 characters"), and never repeats what was typed. Messages are LazyText, translated
when the page is rendered.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.cases.vocab import ContactChannel
from app.i18n import LazyText, lazy, lazy_ngettext

CHECK_FIELD = lazy("Please check this field.")
PSEUDONYM_MISSING = lazy("Write a name we may call you by. It can be made up.")
CONTACT_MISSING = lazy("Write at least one way to reach you.")
CHANNEL_UNKNOWN = lazy("Choose how to reach you from the list.")
MESSAGE_MISSING = lazy("Write a few words about the help you need.")
COUNTRY_UNKNOWN = lazy("Choose a country from the list.")
CONTACT_INVALID: dict[str, LazyText] = {
    ContactChannel.PHONE: lazy(
        "Write a phone number with the country code, for example +995 555 12 34 56."
    ),
    ContactChannel.SIGNAL: lazy(
        "Write a Signal username (for example lesnik.42) or a phone number with the country "
        "code (for example +995 555 12 34 56)."
    ),
    ContactChannel.TELEGRAM: lazy(
        "Write a Telegram username (at least 5 Latin letters, digits or _, for example "
        "@lesnik_42) or a phone number with the country code."
    ),
    ContactChannel.EMAIL: lazy("Write an e-mail address, for example name@example.org."),
}
COUNTRY_FIELDS = ("citizenship", "current_country")


def too_long(limit: int) -> LazyText:
    """Too long, saying the limit (plural forms: 200 символов, 5 000 символов)."""
    return lazy_ngettext(
        "This is too long: at most %(num)s character.",
        "This is too long: at most %(num)s characters.",
        limit,
    )


_MISSING = {
    ("pseudonym", "string_too_short"): PSEUDONYM_MISSING,
    ("message", "string_too_short"): MESSAGE_MISSING,
}


def _message(field: str, err: Any, channel: str) -> LazyText:
    kind = str(err["type"])
    if field in COUNTRY_FIELDS:
        return COUNTRY_UNKNOWN
    if kind == "string_too_long":
        return too_long(int(err["ctx"]["max_length"]))
    if field.endswith("_channel"):
        return CHANNEL_UNKNOWN
    if field.endswith("_value"):
        invalid = CONTACT_INVALID.get(channel, CHECK_FIELD)
        return invalid if kind == "value_error" else CONTACT_MISSING
    return _MISSING.get((field, kind), CHECK_FIELD)


def form_field(loc: tuple[int | str, ...], prefixes: list[str]) -> str:
    """The form field an error of RequestIn belongs to: contacts.N is the Nth contact the
    visitor filled in (prefixes[N] is `contact` or `contact2`)."""
    if loc and loc[0] == "contacts":
        index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        prefix = prefixes[index] if index < len(prefixes) else "contact"
        return f"{prefix}_channel" if "channel" in loc else f"{prefix}_value"
    return str(loc[0]) if loc else "form"


def field_errors(
    exc: ValidationError, values: dict[str, str], prefixes: list[str]
) -> dict[str, LazyText]:
    """One plain message per form field, the first error of each."""
    out: dict[str, LazyText] = {}
    for err in exc.errors():
        field = form_field(tuple(err["loc"]), prefixes)
        channel = values.get(field.removesuffix("_value") + "_channel", "") or "other"
        out.setdefault(field, _message(field, err, channel))
    return out
