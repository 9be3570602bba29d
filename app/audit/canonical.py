"""The canonical encoding of an audit entry (version 1), the bytes its Merkle leaf hashes.

    ["haven-audit/v1", seq, entry_id, at, actor_id, actor_role, action, object_type,
     object_id, fields, outcome, request_id, reason_code]

A JSON array (RFC 8259) with no whitespace, ASCII only: strings escape `"` and `\\` with a
backslash, \\b \\f \\n \\r \\t short, every other control character and every non-ASCII
character as \\uXXXX (lowercase hex, UTF-16 surrogate pairs above U+FFFF); absent values
are `null`; integers in decimal. `at` is UTC "YYYY-MM-DD HH:MM:SS.ffffff"; `actor_id` is
32 lowercase hex digits; `fields` is the stored JSON array re-encoded by the same rules
(object keys sorted). seq binds the entry to its position, entry_id to its row. The leaf
is SHA-256(0x00 || encoding); a new version gets a new tag, never a silent change.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from app.audit.models import AuditEntry

FORMAT = "haven-audit/v1"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

_esc = encode_basestring_ascii
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, sort_keys=True).encode
_fields_cache: dict[str, str] = {}

# One row as the verifier reads it: seq, entry id, at text, actor hex, role, action,
# object type, object id, fields JSON text, outcome, request id, reason code.
Row = tuple[Any, ...]


def fields_json(text: str | None) -> str:
    """Canonical JSON for a stored `fields` column (cached: field sets repeat)."""
    if text is None:
        return "null"
    cached = _fields_cache.get(text)
    if cached is None:
        try:
            cached = _compact(json.loads(text))
        except ValueError:
            cached = _esc(text)  # not JSON at all: encode the raw text, it cannot match
        if len(_fields_cache) > 50_000:
            _fields_cache.clear()
        _fields_cache[text] = cached
    return cached


def encode_row(row: Row) -> bytes:
    """Encode a row in the verifier's column order (text columns, see module docstring);
    columns past the twelfth (the stored leaf hash) are ignored."""
    seq, eid, at, actor, role, action, otype, oid, fields, outcome, rid, rc = row[:12]
    return (
        f'["{FORMAT}",{seq:d},{eid:d},{_esc(at)},'
        f"{'null' if actor is None else _esc(actor)},"
        f"{'null' if role is None else _esc(role)},{_esc(action)},"
        f"{'null' if otype is None else _esc(otype)},"
        f"{'null' if oid is None else _esc(oid)},{fields_json(fields)},{_esc(outcome)},"
        f"{'null' if rid is None else _esc(rid)},{'null' if rc is None else _esc(rc)}]"
    ).encode("ascii")


def encode_row_safely(row: Row) -> bytes:
    """The encoding for rows a tamperer may have filled with odd types: never raises, and a
    row that cannot be encoded yields bytes no valid encoding starts with (so it mismatches)."""
    try:
        return encode_row(row)
    except (TypeError, ValueError):
        return b"\xffunencodable:" + repr(row).encode()


def at_text(at: datetime) -> str:
    """`at` as the encoding writes it: UTC with microseconds."""
    return at.astimezone(UTC).strftime(TIME_FORMAT)


def entry_row(entry: AuditEntry, seq: int) -> Row:
    """An ORM entry as a verifier row, so writer and verifier share one encoder."""
    actor = entry.actor_id.hex if isinstance(entry.actor_id, uuid.UUID) else entry.actor_id
    return (
        seq,
        entry.id,
        at_text(entry.at),
        actor,
        entry.actor_role,
        entry.action,
        entry.object_type,
        entry.object_id,
        json.dumps(list(entry.fields)),
        entry.outcome,
        entry.request_id,
        entry.reason_code,
    )


def encode_entry(entry: AuditEntry, seq: int) -> bytes:
    """The canonical bytes of an ORM entry at position seq."""
    return encode_row(entry_row(entry, seq))
