"""How the case vocabularies read on a page, in the page's language (the stored values stay
the CONTRACT.md names). Later pages add their vocabularies' labels here."""

from __future__ import annotations

from app.cases.vocab import ContactChannel
from app.i18n import LazyText, lazy

CONTACT_CHANNELS: dict[ContactChannel, LazyText] = {
    # Product names stay as they are; the catalog may still adapt them (e.g. transliterate).
    ContactChannel.SIGNAL: lazy("Signal"),
    ContactChannel.TELEGRAM: lazy("Telegram"),
    ContactChannel.PHONE: lazy("Phone call or SMS"),
    ContactChannel.EMAIL: lazy("E-mail"),
    ContactChannel.OTHER: lazy("Another way"),
}


def channel_choices() -> list[tuple[str, LazyText]]:
    """(value, label) pairs for a contact channel `<select>`, in the vocabulary's order."""
    return [(channel.value, CONTACT_CHANNELS[channel]) for channel in ContactChannel]
