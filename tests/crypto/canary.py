"""Canary scanning: look for a value as bytes in UTF-8, UTF-16 and base64 anywhere."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path

# Unique strings that appear nowhere else: one ASCII, one Cyrillic (two-byte UTF-8).
CANARIES = ("HAVENCANARYqx7zW3", "КанарейкаЖЪЮ7Щ")


def needles(canary: str) -> list[bytes]:
    """Every byte form the canary could take: UTF-8, UTF-16 (both orders), base64 at any
    alignment (inner characters only, which do not depend on neighbouring bytes)."""
    utf8 = canary.encode("utf-8")
    forms = [utf8, canary.encode("utf-16-le"), canary.encode("utf-16-be")]
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + utf8)
        forms.append(encoded[4:-4])
        forms.append(base64.urlsafe_b64encode(b"\x00" * shift + utf8)[4:-4])
    return forms


def hits(blob: bytes, canaries: Iterable[str] = CANARIES) -> list[str]:
    """Which canary forms occur in blob (empty when clean)."""
    return [f"{c!r} as {n!r}" for c in canaries for n in needles(c) if n in blob]


def scan_files(paths: Iterable[Path], canaries: Iterable[str] = CANARIES) -> list[str]:
    """Canary hits in the bytes of files (recursing into folders)."""
    found = []
    for path in paths:
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        for file in files:
            if file.exists():
                found += [f"{file.name}: {h}" for h in hits(file.read_bytes(), canaries)]
    return found
