"""Page forms: read what was typed, validate it with the API's own schema, and when it is
wrong give each field a message in plain words, so the form comes back filled in with the
error beside its field.

    values = await read_form(request, FIELDS)
    parsed, errors = validate(CaseCreate, payload_from(values), field_of=...)
    if errors: return render(... values=values, errors=errors, status=422)

Messages never repeat what was typed and never quote pydantic's rule ("String should have
at most 2 characters"): they say what to do, translated when the page is rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from app.errors import FormTakesNoFile, FormUnreadable
from app.i18n import LazyText, lazy, lazy_ngettext

ModelT = TypeVar("ModelT", bound=BaseModel)

# The longest single value a page form accepts (longer is cut, then refused by the schema).
FORM_VALUE_MAX = 25_000

CHECK_FIELD = lazy("Please check this field.")
REQUIRED = lazy("This is needed.")
CHOOSE = lazy("Choose one of the options.")
DATE = lazy("Write a date as YYYY-MM-DD, for example 2026-03-14.")
DATETIME = lazy("Write a date and time, for example 2026-03-14 09:30.")
FUTURE_DATE = lazy("This date is in the future.")
NUMBER = lazy("Write a whole number.")
COUNTRY = lazy("Choose a country from the list.")
UUID = lazy("Choose one from the list.")


def too_long(limit: int) -> LazyText:
    """Too long, saying the limit (plural forms: 200 символов, 5 000 символов)."""
    return lazy_ngettext(
        "This is too long: at most %(num)s character.",
        "This is too long: at most %(num)s characters.",
        limit,
    )


def too_many(limit: int) -> LazyText:
    """Too many items in a list."""
    return lazy_ngettext("At most %(num)s item.", "At most %(num)s items.", limit)


_BY_TYPE: Mapping[str, LazyText] = {
    "missing": REQUIRED,
    "string_too_short": REQUIRED,
    "enum": CHOOSE,
    "literal_error": CHOOSE,
    "date_from_datetime_parsing": DATE,
    "date_parsing": DATE,
    "date_type": DATE,
    "datetime_from_date_parsing": DATETIME,
    "datetime_parsing": DATETIME,
    "datetime_type": DATETIME,
    "int_parsing": NUMBER,
    "int_type": NUMBER,
    "uuid_parsing": UUID,
    "uuid_type": UUID,
    "bool_parsing": CHOOSE,
}


def message_for(err: Mapping[str, Any], *, overrides: Mapping[str, LazyText] = {}) -> LazyText:
    """A plain message for one pydantic error (a field's own message wins)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in overrides:
        return overrides[kind]
    if kind == "string_too_long":
        return too_long(int(ctx.get("max_length", 0)))
    if kind == "too_long":
        return too_many(int(ctx.get("max_length", 0)))
    if kind == "value_error" and "future" in str(ctx.get("error", "")):
        return FUTURE_DATE
    if kind == "value_error" and "country" in str(ctx.get("error", "")):
        return COUNTRY
    return _BY_TYPE.get(kind, CHECK_FIELD)


def default_field(loc: tuple[int | str, ...]) -> str:
    """The form field of an error: dotted path with list indexes (`contacts.0.value`)."""
    return ".".join(str(p) for p in loc) or "form"


def validate(
    model: type[ModelT],
    payload: Mapping[str, Any],
    *,
    field_of: Callable[[tuple[int | str, ...]], str] = default_field,
    messages: Mapping[str, Mapping[str, LazyText]] = {},
) -> tuple[ModelT | None, dict[str, LazyText]]:
    """The parsed model, or None and one message per form field (the first error of each).
    `messages` gives a field its own messages by error type."""
    try:
        return model.model_validate(payload), {}
    except ValidationError as exc:
        errors: dict[str, LazyText] = {}
        for err in exc.errors():
            name = field_of(tuple(err.get("loc", ())))
            if name not in errors:
                errors[name] = message_for(err, overrides=messages.get(name, {}))
        return None, errors


async def text_form(request: Request) -> FormData:
    """The body of a page's text form. Never a file: a multipart body with a file part in it
    is refused (400) before the part is read, so nothing a client sends is spooled to a
    temporary file (Starlette's parser writes uploads to plaintext disk); the upload page
    streams its file through its own encrypting reader instead."""
    try:
        return await request.form(max_files=0)
    except StarletteHTTPException as exc:  # the parser's 400, in English, quoting its limit
        if exc.status_code != 400:
            raise
        if str(exc.detail).startswith("Too many files"):
            raise FormTakesNoFile() from None
        raise FormUnreadable() from None


async def read_form(request: Request, names: Iterable[str]) -> dict[str, str]:
    """The named text fields of an urlencoded form (absent ones left out), each cut to
    FORM_VALUE_MAX. Everything is kept as typed, to give the form back on an error."""
    form = await text_form(request)
    out: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            out[name] = value[:FORM_VALUE_MAX]
    return out


async def read_lists(request: Request, names: Iterable[str]) -> dict[str, list[str]]:
    """Fields that repeat (check boxes, multiple selects): every value given, in order."""
    form = await text_form(request)
    return {
        name: [v[:FORM_VALUE_MAX] for v in form.getlist(name) if isinstance(v, str)]
        for name in names
    }
