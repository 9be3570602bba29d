"""The root key split among keyholders (SLIP-39): which splits are allowed, and what a
keyholder is told when a share is refused — each refusal in words of its own, naming no
share word (a keyholder typing on a shared screen must learn what to fix, and nothing of
the share may reach a log)."""

from __future__ import annotations

import secrets

import pytest

from app.crypto import shamir
from app.crypto.shamir import MAX_SHARES, ShareCollector, ShareRejected


@pytest.mark.parametrize(("threshold", "shares"), [(2, 2), (3, 3), (2, MAX_SHARES)])
def test_every_split_from_two_of_two_to_the_most_shares_recovers(
    threshold: int, shares: int
) -> None:
    root = secrets.token_bytes(32)
    words = shamir.split_root(root, shares=shares, threshold=threshold)
    assert len(words) == shares
    collector = ShareCollector(threshold=threshold)
    got = [collector.add(w) for w in words[-threshold:]]
    assert got[-1] == root
    assert got[:-1] == [None] * (threshold - 1)


@pytest.mark.parametrize(("threshold", "shares"), [(1, 3), (4, 3), (2, MAX_SHARES + 1)])
def test_a_split_outside_the_rules_is_refused(threshold: int, shares: int) -> None:
    with pytest.raises(ValueError, match="threshold"):
        shamir.split_root(secrets.token_bytes(32), shares=shares, threshold=threshold)


def _refusal(collector: ShareCollector, mnemonic: str) -> str:
    with pytest.raises(ShareRejected) as refused:
        collector.add(mnemonic)
    message = str(refused.value)
    # The library's own message quotes the share's first words; ours never does.
    assert " ".join(mnemonic.lower().split()[:2]) not in message.lower(), message
    return message


def test_each_refused_share_says_why_in_words_of_its_own() -> None:
    words = shamir.split_root(secrets.token_bytes(32), shares=3, threshold=2)
    first = words[0].split()
    other_set = shamir.split_root(secrets.token_bytes(32), shares=3, threshold=2)
    other_threshold = shamir.split_root(secrets.token_bytes(32), shares=3, threshold=3)
    mistyped = " ".join([*first[:-1], "academic" if first[-1] != "academic" else "acid"])
    expected = {
        "not a word": (" ".join([*first[:-1], "zzzz"]), "A word of the share is not in the "
                       "SLIP-39 word list."),
        "mistyped": (mistyped, "The share's checksum does not match: a word is mistyped, "
                     "missing or swapped."),
        "one word short": (" ".join(first[:-1]), "The share has the wrong number of words."),
    }  # fmt: skip
    for label, (mnemonic, message) in expected.items():
        assert _refusal(ShareCollector(threshold=2), mnemonic) == message, label
    # Typed loosely (capitals, extra spaces) it is the same share.
    collector = ShareCollector(threshold=2, identifier=shamir.identifier_of(words[0]))
    assert collector.add("  " + words[0].upper().replace(" ", "   ")) is None
    assert _refusal(collector, other_set[0]) == "This share belongs to a different share set."
    assert _refusal(collector, words[0]) == "This share was already entered."
    assert (
        _refusal(ShareCollector(threshold=2), other_threshold[0])
        == "This share belongs to a set with a different threshold."
    )
    mixed = ShareCollector(threshold=2)
    mixed.add(words[0])
    # Two shares of two different sets entered without an expected set: they cannot combine.
    assert _refusal(mixed, other_set[1]) == "These shares do not combine into a key."
    assert mixed.progress == 0  # forgotten: nothing of a failed attempt stays in memory
