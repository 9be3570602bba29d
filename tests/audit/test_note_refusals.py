"""Every way a checkpoint note or a verifier key can be malformed is refused in its own
words: a lawyer holding a checkpoint off the server, or an auditor pasting a key, reads the
reason (a truncated download, a key with a character lost, a note from another log). Each
refusal is written out in full, so a check that stops firing, or fires for the wrong
reason, fails by name. The notes here are signed with a fixed test key over bodies made by
hand, so that the body checks are reached after the signature has passed."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.audit.note import (
    SIG_PREFIX,
    Checkpoint,
    NoteError,
    VerifierKey,
    open_checkpoint,
    parse_verifier_key,
    public_verifier_key,
    sign_checkpoint,
)

NAME = "haven.test/log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
VKEY = public_verifier_key(NAME, KEY)
ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()


def _sig_line(body: str, name: str = NAME, key: Ed25519PrivateKey = KEY) -> str:
    vkey = public_verifier_key(name, key)
    return (
        f"{SIG_PREFIX}{name} {base64.b64encode(vkey.key_hash + key.sign(body.encode())).decode()}"
    )


def _signed(body: str) -> str:
    """A note over this body, signed by the trusted key (whatever the body says)."""
    return f"{body}\n{_sig_line(body)}\n"


def _exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


GOOD_BODY = f"{NAME}\n7\n{ROOT_B64}\n"
GOOD = _signed(GOOD_BODY)


def test_the_good_note_opens() -> None:
    assert open_checkpoint(GOOD, [VKEY]) == Checkpoint(NAME, 7, ROOT)


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (GOOD.rstrip("\n"), "not a signed note"),  # cut off at the end
        (GOOD.replace("\n\n", "\n"), "not a signed note"),  # ends well, no blank line
        (GOOD.replace("\n7\n", "\n7\x07\n"), "control characters in note"),
        (GOOD.replace(SIG_PREFIX, "- "), "malformed signature line"),
        (f"{NAME}\n7\n{ROOT_B64}\n\n{SIG_PREFIX}{NAME} !!!!\n", "malformed signature"),
        (f"{NAME}\n7\n{ROOT_B64}\n\n{SIG_PREFIX}{NAME} AAAA\n", "no signature by a trusted key"),
        (GOOD_BODY + "\n" + _sig_line(GOOD_BODY, key=OTHER) + "\n",
         "no signature by a trusted key"),  # the right name, another key
        (_signed(f"{NAME}\n7\n"), "malformed checkpoint body"),  # two lines
        (_signed(f"\n7\n{ROOT_B64}\n"), "malformed checkpoint body"),  # no origin
        (_signed(f"{NAME}\n07\n{ROOT_B64}\n"), "malformed checkpoint body"),  # leading zero
        (_signed(f"{NAME}\nseven\n{ROOT_B64}\n"), "malformed checkpoint body"),
        (_signed(f"{NAME}\n7\n{ROOT_B64[:-4]}!!!!\n"), "malformed root hash"),
        (_signed(f"{NAME}\n7\n{base64.b64encode(ROOT[:31]).decode()}\n"),
         "root hash is not 32 bytes"),
    ],
)  # fmt: skip
def test_a_malformed_note_is_refused_in_its_own_words(note: str, reason: str) -> None:
    with pytest.raises(NoteError, match=_exactly(reason)):
        open_checkpoint(note, [VKEY])


def test_a_signature_that_does_not_cover_the_body_names_the_signer() -> None:
    forged = GOOD.replace("\n7\n", "\n8\n")
    with pytest.raises(NoteError, match=_exactly(f"bad signature by {NAME}")):
        open_checkpoint(forged, [VKEY])


def test_the_trusted_signature_may_come_after_others() -> None:
    """A note cosigned by a witness the verifier does not know, with the log's own
    signature second, opens under the log's key."""
    body = f"{NAME}\n7\n{ROOT_B64}\n"
    note = f"{body}\n{_sig_line(body, 'witness.example', OTHER)}\n{_sig_line(body)}\n"
    assert open_checkpoint(note, [VKEY]).size == 7


def test_only_the_first_blank_line_ends_the_body() -> None:
    """What follows the signature block's own blank line is not part of the signed body:
    the note opens by the signature over the three body lines."""
    note = GOOD + "\n" + _sig_line("anything else\n", "witness.example", OTHER) + "\n"
    assert open_checkpoint(note, [VKEY]).size == 7


def test_an_origin_may_hold_a_space() -> None:
    note = _signed(f"haven test/log\n7\n{ROOT_B64}\n")
    assert open_checkpoint(note, [VKEY]).origin == "haven test/log"


def _key_text(name: str, khash: str, raw: bytes) -> str:
    return f"{name}+{khash}+{base64.b64encode(raw).decode()}"


RAW = b"\x01" + VKEY.public_key
HASH = VKEY.key_hash.hex()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"{NAME}+{HASH}", "not a verifier key"),  # the key itself missing
        (f"{NAME}+{HASH}+!!!!{base64.b64encode(RAW).decode()}", "not a verifier key"),
        (_key_text("two words", HASH, RAW), "not an Ed25519 verifier key"),  # name only
        (_key_text(NAME, HASH, RAW[:-1]), "not an Ed25519 verifier key"),  # length only
        (_key_text(NAME, HASH, b"\x02" + VKEY.public_key), "not an Ed25519 verifier key"),
        (_key_text(NAME, "00000000", RAW), "verifier key hash does not match the key"),
        (_key_text("another.name", HASH, RAW), "verifier key hash does not match the key"),
    ],
)
def test_a_malformed_verifier_key_is_refused_in_its_own_words(text: str, reason: str) -> None:
    with pytest.raises(NoteError, match=_exactly(reason)):
        parse_verifier_key(text)


def test_a_verifier_key_reads_back_with_spaces_around_it() -> None:
    assert parse_verifier_key(f"  {VKEY.encode()}\n") == VerifierKey(NAME, VKEY.public_key)


@pytest.mark.parametrize("name", ["", "two words", "a+b", "tab\there"])
def test_a_key_name_with_a_space_or_a_plus_is_refused(name: str) -> None:
    with pytest.raises(
        ValueError, match=_exactly("key name must be non-empty, without spaces or '+'")
    ):
        public_verifier_key(name, KEY)
    with pytest.raises(
        ValueError, match=_exactly("key name must be non-empty, without spaces or '+'")
    ):
        sign_checkpoint(Checkpoint(NAME, 1, ROOT), name, KEY)


@pytest.mark.parametrize("origin", ["", "two\nlines"])
def test_an_origin_of_no_line_or_of_two_is_not_signed(origin: str) -> None:
    with pytest.raises(ValueError, match=_exactly("origin must be one non-empty line")):
        sign_checkpoint(Checkpoint(origin, 1, ROOT), NAME, KEY)
