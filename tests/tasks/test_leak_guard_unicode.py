"""Unicode tricks against the leak guard: each identifier of an invented person (name in
Latin and Cyrillic, alias, phone, handle, e-mail, birth date) disguised each way a text
field allows, alone and inside a task sent through the API, is still found; and ordinary
text using the same characters for honest reasons still passes.

Disguises by kind: invisible characters between every letter (zero-width space, non-joiner
and joiner, word joiner, soft hyphen, BOM, combining grapheme joiner, variation selector, tag
space, Mongolian vowel separator, Hangul fillers, Braille blank), right-to-left controls
(override, embedding and isolate, wrapping the text or holding it typed backwards, marks
between letters), combining marks on every letter, compatibility forms NFKC folds (full
width, mathematical bold and double-struck, circled and superscript digits, full-width and
small @), digits of other scripts, look-alike letters (Cyrillic, Greek, Armenian, small
capitals, dotless i, digits for letters), digits spaced apart with spaces of any width, other
slashes and dashes, a line-break hyphen, and an address spelt out (at/dot).

What the guard does not claim to catch (SECURITY.md, "Volunteer tasks"): an identifier
spelt out as words ("nine one six..."), split across two fields, pictured or described ("the
man from the poster"), or misspelt with letters that look nothing alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.tasks.leak_guard import Finding, PersonMarkers, find_leaks
from tests.casework import PERSON as CASE_PERSON
from tests.casework import Staff, new_case

PERSON = PersonMarkers(
    legal_name="Тимофей Андреевич Колосовский",
    aliases=("Тимоха", "Tim Kolos"),
    handles=("@kolos_tim77", "timkolos@example.org"),
    date_of_birth=date(1994, 3, 14),
)

# (what, as typed plainly, the finding it must give)
VALUES = [
    ("name", "Kolosovsky", Finding.NAME),
    ("name in Cyrillic", "Колосовский", Finding.NAME),
    ("alias", "Timokha", Finding.ALIAS),
    ("phone", "+7 916 123 45 67", Finding.PHONE),
    ("handle", "@kolos_tim77", Finding.HANDLE),
    ("e-mail", "timkolos@example.org", Finding.HANDLE),
    ("birth date", "14.03.1994", Finding.BIRTH_DATE),
]


def _between(mark: str) -> Callable[[str], str]:
    return mark.join


def _on_each(mark: str) -> Callable[[str], str]:
    return lambda s: "".join(ch + mark for ch in s)


def _shift(first: str, last: str, to: int) -> Callable[[str], str]:
    return lambda s: "".join(
        chr(to + ord(ch) - ord(first)) if first <= ch <= last else ch for ch in s
    )


def _chain(*steps: Callable[[str], str]) -> Callable[[str], str]:
    def run(s: str) -> str:
        for step in steps:
            s = step(s)
        return s

    return run


def _swap(pairs: str) -> Callable[[str], str]:
    table = str.maketrans(dict(zip(pairs[0::2], pairs[1::2], strict=True)))
    return lambda s: s.translate(table)


DISGUISES: dict[str, dict[str, Callable[[str], str]]] = {
    "invisible": {
        "zero-width space": _between("\u200b"),
        "zero-width non-joiner": _between("\u200c"),
        "zero-width joiner": _between("\u200d"),
        "word joiner": _between("\u2060"),
        "soft hyphen": _between("\u00ad"),
        "byte order mark": _between("\ufeff"),
        "combining grapheme joiner": _between("\u034f"),
        "variation selector": _between("\ufe0f"),
        "tag space": _between("\U000e0020"),
        "mongolian vowel separator": _between("\u180e"),
        "hangul filler": _between("\u3164"),
        "braille blank": _between("\u2800"),
    },
    "right-to-left": {
        "override around": lambda s: "\u202e" + s + "\u202c",
        "override, typed backwards": lambda s: "\u202e" + s[::-1] + "\u202c",
        "embedding, typed backwards": lambda s: "\u202b" + s[::-1] + "\u202c",
        "isolate, typed backwards": lambda s: "\u2067" + s[::-1] + "\u2069",
        "right-to-left marks": _between("\u200f"),
        "arabic letter marks": _between("\u061c"),
    },
    "combining marks": {
        "acute on each": _on_each("\u0301"),
        "strike-through on each": _on_each("\u0336"),
        "stacked marks on each": _on_each("\u0300\u0316\u0334\u0489"),
    },
    "compatibility forms": {
        "full width": _chain(_shift("!", "~", 0xFF01)),
        "mathematical bold": _chain(
            _shift("A", "Z", 0x1D400), _shift("a", "z", 0x1D41A), _shift("0", "9", 0x1D7CE)
        ),
        "double-struck digits": _shift("0", "9", 0x1D7D8),
        "circled digits": _chain(_shift("1", "9", 0x2460), _swap("0⓪")),
        "superscript digits": _swap("0⁰1¹2²3³4⁴5⁵6⁶7⁷8⁸9⁹"),
        "full-width and small @": _swap("@＠.．"),
    },
    "other digits": {
        "arabic-indic": _shift("0", "9", 0x660),
        "devanagari": _shift("0", "9", 0x966),
        "thai": _shift("0", "9", 0xE50),
    },
    "look-alikes": {
        "cyrillic letters": _swap("oоaаeеcсpрxхyуKКTТ"),
        "greek letters": _swap("oοKΚTΤiι"),
        "armenian letters": _swap("oօuսhհ"),
        "small capitals": _swap("oᴏkᴋaᴀsꜱtᴛ"),
        "dotless i": _swap("iı"),
        "digits for letters": _swap("o0"),
    },
    "spacing and separators": {
        "no-break spaces": _between("\u00a0"),
        "thin spaces": _between("\u2009"),
        "ideographic spaces": _between("\u3000"),
        "fraction slashes and dashes": _swap(".⁄-‒"),
        "line-break hyphen": lambda s: s[:4] + "-\n" + s[4:],
        "spelt out": lambda s: s.replace("@", " at ").replace(".", " dot "),
    },
}

# Every disguise of every value it changes (digits of other scripts leave a name alone).
MATRIX = [
    pytest.param(kind, how, value, finding, id=f"{what}: {how}")
    for kind, ways in DISGUISES.items()
    for how, disguise in ways.items()
    for what, value, finding in VALUES
    if disguise(value) != value
]


@pytest.mark.parametrize(("kind", "how", "value", "finding"), MATRIX)
def test_a_disguised_identifier_is_still_found(
    kind: str, how: str, value: str, finding: Finding
) -> None:
    disguised = DISGUISES[kind][how](value)
    text = f"Meet at the gate and ask for {disguised} there."
    assert finding in find_leaks(text, PERSON)


# The same characters, used honestly, change nothing.
HONEST = [
    "Встреча у вокзала в 10:30, платформа 3, вагон 7.",
    "Ask the interpreter \u200fמרים\u200f at the desk at 10:00.",  # a name in Hebrew, marked
    "Bring \u202bشاي\u202c and bread for 4 people.",
    "Room 1 0 4, floor 3; tickets for 14.03.2027.",
    "Take line M4 to stop K5, then bus 10 at 07:15.",
    "Meet at the café at noon; coffee at reception dot desk is free.",
    "Ｔｈｕｒｓｄａｙ, ｐｌａｔｆｏｒｍ ２, ｔｈｅ ｂｌｕｅ ｄｏｏｒ.",
    "Ask for Misha at the kiosk \u2014 say the parcel is from the café.",
    "٣ blankets and ٢ pillows for the shelter.",
]


@pytest.mark.parametrize("text", HONEST)
def test_honest_text_with_the_same_characters_passes(text: str) -> None:
    assert find_leaks(text, PERSON) == []


# Through the API: a task whose title or instructions hold the case's own values in disguise
# is refused, naming the field and the kind, never the value.
API_LEAKS = [
    ("title", "Meet \u202e" + "veztlaveh" + "zrP" + "\u202c at the door", "name"),
    ("title", "Meet Przh\u200deval\u0301tsev", "name"),
    ("instructions", "Ask for Ｐｒｚｈｅｖａｌｔｓｅｖ at the desk", "name"),
    ("instructions", "Ask for Прж\u0435вальцев (Latin е)", "name"),
    ("instructions", "Ask for Pr\u0437hevaltsev", "name"),
    ("instructions", "Call +７ ９１６ ５５５ ０１ ２３", "phone"),
    ("instructions", "Call ٩١٦٥٥٥٠١٢٣ on arrival", "phone"),
    (
        "instructions",
        "Born 2\u20093\u2009.\u20090\u20097\u2009.\u20091\u20099\u20099\u20091",
        "birth_date",
    ),
    ("instructions", "Write @ѕevazhuk_tg", "handle"),
    ("instructions", "Ask for P\u0433zhevaltsev", "name"),
]


@pytest.mark.parametrize(("field", "value", "kind"), API_LEAKS)
def test_the_api_refuses_a_task_carrying_the_case_in_disguise(
    client: TestClient, staff: Staff, field: str, value: str, kind: str
) -> None:
    case = new_case(client, staff)
    body: dict[str, Any] = {
        "case_id": case["id"],
        "assigned_to": str(staff.volunteer.id),
        "title": "Meet at the railway station",
        "instructions": "Thursday 14:00 under the clock.",
        field: value,
    }
    r = client.post("/api/v1/tasks", json=body, headers=staff.h("caseworker"))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "identifying_data"
    [error] = [e for e in r.json()["errors"] if e["field"] == field]
    assert kind in error["kinds"]
    assert value not in r.text
    assert CASE_PERSON["legal_name"].split()[-1] not in r.text


@pytest.fixture
def staff(db: Any, clock: Any, settings: Any) -> Staff:
    from tests.casework import make_staff

    return make_staff(db, clock=clock, settings=settings)


def test_letters_without_a_unicode_name_neither_crash_nor_hide_the_name() -> None:
    """Some letters have no name in Python's Unicode table (Tangut ideographs, U+17000 on):
    the script check reads them as no script instead of failing on the whole text, and a
    name beside them is still found."""
    assert find_leaks("Meet at the gate \U00017000\U00017001", PERSON) == []
    assert find_leaks("Ask \U00017000 for Колосовский", PERSON) == [Finding.NAME]
