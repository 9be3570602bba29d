"""Every type sniffing can name is in SNIFFABLE, the list the API documents for downloads."""

from app.documents import sniff


def test_every_sniffed_type_is_documented() -> None:
    named = {t for _, t in sniff._SIGNATURES}
    named |= set(sniff._FTYP_BRANDS.values()) | set(sniff._RIFF.values())
    named |= {sniff.sniff_content_type(b""), sniff.sniff_content_type(b"plain words\n")}
    assert named <= set(sniff.SNIFFABLE), named - set(sniff.SNIFFABLE)
