"""Page-test helpers: a page's visible text, and the catalogs' English messages."""

from __future__ import annotations

from html.parser import HTMLParser

# Attributes a person reads or hears (a screen reader speaks aria-label and alt).
READ_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "label"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.ids: set[str] = set()
        self.described: list[str] = []
        self.labelled: set[str] = set()
        self.controls: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in values.items() if k in READ_ATTRIBUTES)
        if "id" in values:
            self.ids.add(values["id"])
        if "aria-describedby" in values:
            self.described.extend(values["aria-describedby"].split())
        if tag == "label" and "for" in values:
            self.labelled.add(values["for"])
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.controls.append(values.get("id", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def read_page(html: str) -> _Text:
    """What a person reads on the page, and the ids its controls point at."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser


def visible_text(html: str) -> str:
    """The page's text and read attributes, whitespace joined."""
    return " ".join(" ".join(read_page(html).parts).split())
