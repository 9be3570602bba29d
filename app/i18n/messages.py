"""Catalog upkeep: `python -m app.i18n.messages update | init LOCALE | compile`.

- update: extract every marked message (babel.cfg: app/**.py and templates/**.html, with
  the keywords below) and merge them into each `.po`; a changed msgid comes back fuzzy
  (to review), a removed one is dropped (git keeps the history).
- init LOCALE: start the catalog of a new language.
- compile: build each `.mo` beside its `.po` (`make` runs it).

The tests extract the same way (`extract()`), so what `make messages` sees is what they
check.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from app.i18n.catalogs import DOMAIN, LOCALE_DIR, compile_po, mo_path, po_path
from app.i18n.core import LOCALES

ROOT = LOCALE_DIR.parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy": None, "lazy_ngettext": (1, 2)}
SOURCE_LOCALE = "en"
WIDTH = 100


def extract() -> Catalog:
    """Every message the code and templates mark, with where each is used."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    catalog = Catalog(project="Haven", domain=DOMAIN, charset="utf-8")
    found = extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=WIDTH, ignore_obsolete=True, include_previous=True)


def _fill_source(catalog: Catalog) -> None:
    """English needs no translator: an empty or fuzzy entry takes its msgid (an edited
    English wording is kept)."""
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy or not message.string or not any(message.string):
            message.string = message.id
            message.flags.discard("fuzzy")
            message.previous_id = []


def update() -> None:
    """Merge the extracted messages into every existing catalog."""
    template = extract()
    for locale in LOCALES:
        path = po_path(locale)
        if not path.exists():
            continue
        with path.open("rb") as source:
            catalog = read_po(source, locale=locale, domain=DOMAIN)
        created = catalog.creation_date  # kept, so an update changes only what changed
        # A copy per catalog: Catalog.update adopts the template's new Message objects
        # themselves, so filling English (below) would otherwise fill every later locale's
        # new messages with English too, where they must arrive empty.
        catalog.update(copy.deepcopy(template), update_header_comment=False)
        catalog.creation_date = created
        if locale == SOURCE_LOCALE:
            _fill_source(catalog)
        _write(catalog, path)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def init(locale: str) -> None:
    """Start locale's catalog (add the locale to LOCALES and LANGUAGE_NAMES too)."""
    path = po_path(locale)
    if path.exists():
        raise SystemExit(f"{path} exists; `update` merges new messages into it")
    catalog = Catalog(
        locale=locale,
        domain=DOMAIN,
        project="Haven",
        copyright_holder="the Haven authors",
        last_translator="the Haven authors",
        language_team=f"{locale} (the Haven authors)",
        charset="utf-8",
        fuzzy=False,
    )
    catalog.update(extract())
    if locale == SOURCE_LOCALE:
        _fill_source(catalog)
    _write(catalog, path)
    print(f"{path.relative_to(ROOT)}: started with {len(catalog)} messages")


def compile_all() -> None:
    """Write every catalog's `.mo` beside its `.po` (fuzzy entries left out)."""
    for locale in LOCALES:
        if po_path(locale).exists():
            mo_path(locale).write_bytes(compile_po(po_path(locale)))


def main(argv: list[str]) -> None:
    """The command line."""
    match argv:
        case ["update"]:
            update()
        case ["init", locale]:
            init(locale)
        case ["compile"]:
            compile_all()
        case _:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
