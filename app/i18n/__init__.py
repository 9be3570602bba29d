"""Translations: the supported languages, and the helpers Python code marks its text with.

Every text a person reads goes through gettext (docs/i18n.md says how to mark it). This
package imports nothing from the rest of the app, so any module (errors included) can use it:

- `gettext(msg, **vars)` / `ngettext(singular, plural, n, **vars)`: translated now, into the
  language being rendered (see `activated`); `%(name)s` placeholders filled from vars
  (ngettext also fills `%(num)s` with n).
- `lazy(msg, **vars)`: a text defined at import time (a label, a choice), translated each
  time it is shown.
- `N_(msg)`: marks a message that must stay a plain `str` (a HavenError's, which the API
  sends in English) for extraction; a page shows it through `LazyText(message)` or the
  `translate` filter.
"""

from app.i18n.core import (
    DEFAULT_LOCALE,
    LANGUAGE_NAMES,
    LOCALES,
    N_,
    LazyText,
    activated,
    current_locale,
    gettext,
    is_supported,
    lazy,
    lazy_ngettext,
    ngettext,
)

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGE_NAMES",
    "LOCALES",
    "N_",
    "LazyText",
    "activated",
    "current_locale",
    "gettext",
    "is_supported",
    "lazy",
    "lazy_ngettext",
    "ngettext",
]
