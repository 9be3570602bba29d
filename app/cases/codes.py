"""Pseudonymous case codes: HV-<year>-<6 random Crockford base32 characters>.

Random, not sequential, so a code reveals neither how many cases exist nor their order;
Crockford's alphabet has no I, L, O or U, so a code read aloud over a bad line survives.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_RE = re.compile(r"^HV-\d{4}-[0-9A-HJKMNP-TV-Z]{6}$")


def new_case_code(now: datetime) -> str:
    """A fresh code; the caller retries on the (one in a billion) unique-constraint clash."""
    tail = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"HV-{now.year:04d}-{tail}"


def normalise_code(text: str) -> str:
    """Upper-case a typed code and map look-alikes (O->0, I/L->1) the way Crockford does."""
    text = text.strip().upper()
    head, _, tail = text.rpartition("-")
    return f"{head}-{tail.translate(str.maketrans('OIL', '011'))}" if head else text
