"""TOTP (RFC 6238 via pyotp) with a ±1 step window and replay refusal, and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

ISSUER = "Haven"
STEP_SECONDS = 30
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/i/l: read aloud safely


def new_secret() -> str:
    """A fresh 160-bit base32 TOTP secret."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app imports."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=ISSUER
    )


def qr_svg_data_uri(uri: str) -> str:
    """The URI as an SVG QR code in a data: URI (allowed by the CSP's img-src)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def current_step(now: datetime) -> int:
    """The TOTP time step that contains now."""
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """The six-digit code for a time step (tests and enrolment checks)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(step)


def match_step(secret: str, code: str, *, now: datetime, last_used_step: int | None) -> int | None:
    """The step a code belongs to (within ±1 step), or None; a step at or before the last one
    used is refused, so each code works once."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):  # "١٢٣٤٥٦" isdigit() too
        return None
    now_step = current_step(now)
    found = None
    for step in range(now_step - WINDOW_STEPS, now_step + WINDOW_STEPS + 1):
        # Compare every candidate (no early exit), so timing does not tell which step matched.
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    if found is None or (last_used_step is not None and found <= last_used_step):
        return None
    return found


def new_recovery_codes() -> list[str]:
    """Ten one-time recovery codes, 80 random bits each, shown to the user once."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def normalise_recovery_code(code: str) -> str:
    """Lower-case, without spaces or dashes, so the user may type it loosely."""
    return "".join(ch for ch in code.lower() if ch.isalnum())


def hash_recovery_code(code: str) -> str:
    """SHA-256 of the normalised code: 80 random bits need no slow hash."""
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    """True for input shaped like a recovery code rather than a six-digit TOTP code."""
    return len(normalise_recovery_code(code)) == 16
