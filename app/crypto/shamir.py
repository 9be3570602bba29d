"""Shamir seal mode: the root key split into SLIP-39 word shares (shamir-mnemonic, pinned).

K-1 shares carry no information about the root (Shamir's scheme over GF(256)); SLIP-39's
RS1024 checksum catches a mistyped word, and its set identifier a share from another set.
Error messages never repeat the words of a share."""

from __future__ import annotations

from dataclasses import dataclass, field

import shamir_mnemonic
from shamir_mnemonic import MnemonicError, Share

MAX_SHARES = 16


class ShareRejected(ValueError):
    """A share that cannot be used, with a message safe to show (no share words)."""


def split_root(root: bytes, *, shares: int, threshold: int) -> list[str]:
    """Split the root key into `shares` mnemonics, any `threshold` of which recover it."""
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise ValueError(f"need 2 <= threshold <= shares <= {MAX_SHARES}")
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], root)
    return list(groups[0])


def identifier_of(mnemonic: str) -> int:
    """The SLIP-39 set identifier of a share (public: it names the set, not the secret)."""
    return int(parse_share(mnemonic).identifier)


def parse_share(mnemonic: str) -> Share:
    """Parse one typed share, turning library errors into messages without share words."""
    words = " ".join(mnemonic.lower().split())
    try:
        return Share.from_mnemonic(words)
    except MnemonicError as exc:
        text = str(exc)
        if "word" in text:
            raise ShareRejected("A word of the share is not in the SLIP-39 word list.") from None
        if "checksum" in text:
            raise ShareRejected(
                "The share's checksum does not match: a word is mistyped, missing or swapped."
            ) from None
        if "length" in text or "padding" in text:
            raise ShareRejected("The share has the wrong number of words.") from None
        raise ShareRejected("The share is not valid.") from None


@dataclass
class ShareCollector:
    """Shares typed so far, kept in memory only until the root is recovered or sealing."""

    threshold: int
    identifier: int | None = None
    _shares: list[Share] = field(default_factory=list)

    @property
    def progress(self) -> int:
        """How many distinct valid shares have been entered."""
        return len(self._shares)

    def add(self, mnemonic: str) -> bytes | None:
        """Add a share; returns the recovered root once `threshold` shares are in."""
        share = parse_share(mnemonic)
        if self.identifier is not None and share.identifier != self.identifier:
            raise ShareRejected("This share belongs to a different share set.")
        if share.member_threshold != self.threshold:
            raise ShareRejected("This share belongs to a set with a different threshold.")
        if any(s.index == share.index for s in self._shares):
            raise ShareRejected("This share was already entered.")
        self._shares.append(share)
        if len(self._shares) < self.threshold:
            return None
        mnemonics = [s.mnemonic() for s in self._shares]
        self.clear()
        try:
            return bytes(shamir_mnemonic.combine_mnemonics(mnemonics))
        except MnemonicError:
            raise ShareRejected("These shares do not combine into a key.") from None

    def clear(self) -> None:
        """Forget every share entered."""
        self._shares.clear()
