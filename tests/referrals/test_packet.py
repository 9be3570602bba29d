"""Referral packets open only with the partner's key, and only as they were sealed."""

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.referrals.packet import (
    PacketError,
    decode_public_key,
    encode_public_key,
    generate_keypair,
    key_id,
    load_private_key,
    open_packet,
    seal_packet,
)

BODY = {
    "case_code": "HV-2026-TEST01",
    "fields": {"legal_name": "Canary Synthetic-Person", "criminal_case": {"article": "337"}},
    "note": "Please contact within a week.",
}


def _sealed(recipient: X25519PrivateKey) -> bytes:
    return seal_packet(
        recipient=recipient.public_key(),
        referral_id=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        body=BODY,
    )


def test_round_trip_through_files(tmp_path: Path) -> None:
    key_file = tmp_path / "partner.key"
    public = generate_keypair(key_file)
    assert key_file.stat().st_mode & 0o777 == 0o600
    packet = seal_packet(
        recipient=decode_public_key(public),
        referral_id="r-1",
        created_at=datetime.now(UTC),
        body=BODY,
    )
    assert b"Canary" not in packet
    opened = open_packet(packet, load_private_key(key_file))
    assert opened.body == BODY
    assert opened.header["referral_id"] == "r-1"


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    key_file = tmp_path / "partner.key"
    generate_keypair(key_file)
    with pytest.raises(FileExistsError):
        generate_keypair(key_file)


def test_public_key_text_round_trips() -> None:
    key = X25519PrivateKey.generate().public_key()
    assert decode_public_key(encode_public_key(key)) == key


@pytest.mark.parametrize(
    "text", ["", "ssh-ed25519 AAAA", "haven-partner-x25519:!!!", "haven-partner-x25519:AAAA"]
)
def test_bad_public_keys_are_refused(text: str) -> None:
    with pytest.raises(PacketError):
        decode_public_key(text)


def test_wrong_key_cannot_open() -> None:
    packet = _sealed(X25519PrivateKey.generate())
    with pytest.raises(PacketError, match="another key"):
        open_packet(packet, X25519PrivateKey.generate())


@pytest.mark.parametrize("field", ["referral_id", "created_at"])
def test_altered_header_fails(field: str) -> None:
    key = X25519PrivateKey.generate()
    packet = json.loads(_sealed(key))
    packet[field] = "altered"
    with pytest.raises(PacketError, match="altered"):
        open_packet(json.dumps(packet).encode(), key)


def test_flipped_payload_bit_fails() -> None:
    key = X25519PrivateKey.generate()
    packet = json.loads(_sealed(key))
    raw = bytearray(base64.b64decode(packet["payload"]))
    raw[-5] ^= 0x01
    packet["payload"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(PacketError, match="altered"):
        open_packet(json.dumps(packet).encode(), key)


def test_recipient_forged_to_match_still_fails() -> None:
    sender_target = X25519PrivateKey.generate()
    thief = X25519PrivateKey.generate()
    packet = json.loads(_sealed(sender_target))
    packet["recipient"] = key_id(thief.public_key())
    with pytest.raises(PacketError, match="altered"):
        open_packet(json.dumps(packet).encode(), thief)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(version=2),
        lambda p: p.update(format="other"),
        lambda p: p.update(extra="x"),
        lambda p: p.pop("payload"),
    ],
)
def test_malformed_packets_are_refused(mutate: object) -> None:
    key = X25519PrivateKey.generate()
    packet = json.loads(_sealed(key))
    mutate(packet)  # type: ignore[operator]
    with pytest.raises(PacketError):
        open_packet(json.dumps(packet).encode(), key)


def test_not_json_is_refused() -> None:
    with pytest.raises(PacketError, match="not JSON"):
        open_packet(b"\x00garbage", X25519PrivateKey.generate())


def test_partner_cli_round_trip(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    runner = CliRunner()
    key_file = tmp_path / "p.key"
    result = runner.invoke(cli, ["partner", "keygen", "--out", str(key_file)])
    assert result.exit_code == 0, result.output
    public = result.stdout.strip().splitlines()[-1]
    packet_file = tmp_path / "packet.json"
    packet_file.write_bytes(
        seal_packet(
            recipient=decode_public_key(public),
            referral_id="r-9",
            created_at=datetime.now(UTC),
            body=BODY,
        )
    )
    opened = runner.invoke(cli, ["referral", "open", str(packet_file), "--key", str(key_file)])
    assert opened.exit_code == 0, opened.output
    assert json.loads(opened.stdout)["fields"]["legal_name"] == "Canary Synthetic-Person"
    other = tmp_path / "other.key"
    runner.invoke(cli, ["partner", "keygen", "--out", str(other)])
    refused = runner.invoke(cli, ["referral", "open", str(packet_file), "--key", str(other)])
    assert refused.exit_code == 1
    assert "another key" in refused.output
