"""Loading the message catalogs: `app/locale/<locale>/LC_MESSAGES/haven.{po,mo}`.

`make` compiles each `.po` to its `.mo` when it installs (`.mo` files are build output, not
committed, and ship as package data). A checkout that was never built, or a `.po` edited
since its `.mo`, still works: that catalog is compiled in memory from the `.po` when it is
first used (nothing is written into the package, which may be read-only). Fuzzy entries are
never used: a page shows English rather than a guess.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "haven"

log = logging.getLogger("haven.i18n")


def po_path(locale: str) -> Path:
    """Where locale's catalog source lives."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    """Where locale's compiled catalog lives (after `make`)."""
    return po_path(locale).with_suffix(".mo")


def compile_po(po: Path) -> bytes:
    """The `.mo` bytes of a `.po` file (fuzzy entries left out)."""
    with po.open("rb") as source:
        catalog = read_po(source)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog of locale: its `.mo` when current, else its `.po` compiled in memory;
    English (the msgids themselves) when there is neither."""
    po, mo = po_path(locale), mo_path(locale)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if po.exists():
        log.info("compiling the %s catalog in memory (run make to build its .mo)", locale)
        return Translations(io.BytesIO(compile_po(po)), domain=DOMAIN)
    return NullTranslations()


def load_all(locales: tuple[str, ...]) -> None:
    """Load every catalog now (at start-up), so a broken `.po` stops the service at once
    instead of failing the first page in that language."""
    for locale in locales:
        translations(locale)
