"""The catalogs against the code: every message the code and templates mark is translated in
every language (en, ru, uk and be are complete), none is fuzzy or left obsolete, and every
translation keeps its msgid's placeholders and HTML tags, so no page shows a raw
`%(name)s`, loses a value, or breaks its markup."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from app.i18n import LOCALES
from app.i18n.catalogs import po_path
from app.i18n.messages import extract

COMPLETE = LOCALES  # every supported language must be complete
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")
NPLURALS = {"en": 2, "ru": 3, "uk": 3, "be": 3}


@cache
def used() -> Catalog:
    """What `make messages` extracts from app/ and templates/ now."""
    return extract()


def load(locale: str) -> Catalog:
    """locale's catalog as it is committed."""
    with po_path(locale).open("rb") as source:
        return read_po(source, locale=locale)


def _forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def problems(catalog: Catalog, wanted: Catalog) -> list[str]:
    """Everything that would make a page of this catalog's language wrong or English."""
    out = []
    for needed in wanted:
        if not needed.id:
            continue
        key = needed.id[0] if isinstance(needed.id, tuple) else needed.id
        found = catalog.get(key, needed.context)
        if found is None:
            kind = "obsolete" if key in catalog.obsolete else "missing"
            out.append(f"{kind}: {key!r}")
            continue
        if found.fuzzy:
            out.append(f"fuzzy: {key!r}")
        forms = _forms(found)
        if not all(forms):
            out.append(f"untranslated: {key!r}")
            continue
        ids = list(needed.id) if isinstance(needed.id, tuple) else [needed.id]
        placeholders = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        tags = Counter(TAG.findall(ids[0]))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) != placeholders:
                out.append(f"placeholders differ: {key!r} -> {form!r}")
            if Counter(TAG.findall(form)) != tags:
                out.append(f"HTML tags differ: {key!r} -> {form!r}")
    return out


def test_extraction_finds_the_pages_text() -> None:
    ids = {m.id for m in used()}
    assert "Sign in to Haven" in ids  # a template
    assert "Choose a country from the list." in ids  # Python, lazy()
    assert "The e-mail, password or code is not right." in ids  # a HavenError, N_()
    assert any(isinstance(i, tuple) for i in ids), "no plural message extracted"


@pytest.mark.parametrize("locale", COMPLETE)
def test_catalog_is_complete_and_consistent(locale: str) -> None:
    catalog = load(locale)
    assert catalog.num_plurals == NPLURALS[locale]
    assert not problems(catalog, used()), "\n".join(problems(catalog, used()))


def test_the_check_finds_each_kind_of_problem() -> None:
    wanted = Catalog(locale="ru")
    for msgid in ("Missing", "Fuzzy", "Empty", "Gone", "Hello %(name)s", "<strong>x</strong>"):
        wanted.add(msgid)
    catalog = Catalog(locale="ru")
    catalog.add("Fuzzy", "Нечто", flags=["fuzzy"])
    catalog.add("Empty", "")
    catalog.obsolete["Gone"] = Message("Gone", "Ушло")
    catalog.add("Hello %(name)s", "Привет, %(имя)s")
    catalog.add("<strong>x</strong>", "x")
    found = problems(catalog, wanted)
    assert found == [
        "missing: 'Missing'",
        "fuzzy: 'Fuzzy'",
        "untranslated: 'Empty'",
        "obsolete: 'Gone'",
        "placeholders differ: 'Hello %(name)s' -> 'Привет, %(имя)s'",
        "HTML tags differ: '<strong>x</strong>' -> 'x'",
    ]
