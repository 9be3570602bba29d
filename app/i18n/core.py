"""The supported locales, the language being rendered, and gettext over the catalogs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from babel.numbers import format_decimal
from markupsafe import Markup, escape

from app.i18n.catalogs import translations

# Order of the language switcher. Adding one: docs/i18n.md.
LOCALES: Final = ("en", "ru", "uk", "be")
DEFAULT_LOCALE: Final = "en"
# Each language named in itself, as its speakers look for it in a switcher.
LANGUAGE_NAMES: Final = {
    "en": "English",
    "ru": "Русский",
    "uk": "Українська",
    "be": "Беларуская",
}

# The language of the page being rendered. Set only around rendering (PageTemplates) or by
# `activated`; everything else (the API, logs, the CLI) stays in English.
_active: ContextVar[str] = ContextVar("haven_locale", default=DEFAULT_LOCALE)


def is_supported(locale: object) -> bool:
    """True for a locale code Haven has a catalog for."""
    return isinstance(locale, str) and locale in LOCALES


def current_locale() -> str:
    """The locale being rendered now (English outside a page)."""
    return _active.get()


@contextmanager
def activated(locale: str) -> Iterator[str]:
    """Translate into locale (an unsupported one means English) within the block."""
    chosen = locale if is_supported(locale) else DEFAULT_LOCALE
    token = _active.set(chosen)
    try:
        yield chosen
    finally:
        _active.reset(token)


def raw_gettext(message: str) -> str:
    """The translation of message in the current locale, placeholders left as they are."""
    return translations(current_locale()).gettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    """The plural form for n in the current locale, placeholders left as they are."""
    return translations(current_locale()).ngettext(singular, plural, n)


def gettext(message: str, **variables: object) -> str:
    """message translated into the current locale, with `%(name)s` filled from variables
    (always formatted, as in templates: a literal percent sign is written `%%`)."""
    return raw_gettext(message) % variables


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """The right plural form for n (ru/uk/be have three), `%(num)s` filled with n written
    the locale's way (5 000 in Russian)."""
    num = format_decimal(n, locale=current_locale())
    return raw_ngettext(singular, plural, n) % {"num": num, **variables}


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark message for extraction without translating it (translated where it is shown)."""
    return message


class LazyText:
    """A message translated when it is shown, into the language of that page.

    Jinja escapes it like any text (`__html__`); `str()` translates it too.
    """

    __slots__ = ("_message", "_n", "_plural", "_variables")

    def __init__(
        self,
        message: str,
        plural: str | None = None,
        n: int = 1,
        variables: dict[str, object] | None = None,
    ) -> None:
        self._message = message
        self._plural = plural
        self._n = n
        self._variables = variables or {}

    @property
    def message(self) -> str:
        """The English message (the msgid)."""
        return self._message

    def __str__(self) -> str:
        if self._plural is not None:
            return ngettext(self._message, self._plural, self._n, **self._variables)
        return gettext(self._message, **self._variables)

    def __html__(self) -> Markup:
        return escape(str(self))

    def __repr__(self) -> str:
        return f"LazyText({self._message!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyText):
            return (self._message, self._plural, self._n, self._variables) == (
                other._message,
                other._plural,
                other._n,
                other._variables,
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._message, self._plural, self._n))


def lazy(message: str, **variables: object) -> LazyText:
    """A text defined now (at import, or before the page's language is known), translated
    when shown."""
    return LazyText(message, variables=variables)


def lazy_ngettext(singular: str, plural: str, n: int, **variables: object) -> LazyText:
    """A plural text translated when shown (`%(num)s` is n)."""
    return LazyText(singular, plural, n, variables)
