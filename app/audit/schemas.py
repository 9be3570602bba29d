"""The auditor's API answers: entries, verification, alerts, checkpoints (metadata only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, get_type_hints

from pydantic import BaseModel, create_model

from app.audit.canonical import Recorded


class _Entry(BaseModel):
    """One entry as the auditor sees it: who, role, when, what, on which object, which field
    names (never values), outcome, reason code; `seq` is its position in the tree."""

    seq: int | None


if TYPE_CHECKING:
    EntryOut = _Entry
else:  # the values of `Recorded` (what an entry's body holds), and the position
    EntryOut = create_model(
        "EntryOut",
        __base__=_Entry,
        **{name: (kind, ...) for name, kind in get_type_hints(Recorded).items()},
    )


class EntryPage(BaseModel):
    """One page of entries, newest first."""

    items: list[EntryOut]
    page: int
    per_page: int
    total: int


class VerifyOut(BaseModel):
    """The tree recomputed and every stored checkpoint checked: `first_bad` names the first
    entry that fails (null when intact)."""

    ok: bool
    entries: int
    first_bad: int | None


class AlertOut(BaseModel):
    """Something an auditor must look at: break-glass uses, bursts of denied access, mass
    case reads, bursts of duplicate checks or hits outside the caller's scope."""

    kind: str
    actor_id: uuid.UUID | None
    first_at: datetime
    last_at: datetime
    count: int
    entry_ids: list[int]


class AlertsOut(BaseModel):
    """The alerts since a time (default: the last 24 hours)."""

    alerts: list[AlertOut]


class CheckpointOut(BaseModel):
    """A signed checkpoint: tree size, root and the C2SP signed note."""

    tree_size: int
    root_hash: str
    created_at: datetime
    note: str


class LatestCheckpointOut(BaseModel):
    """The newest checkpoint (null before the first) and the key that verifies it."""

    checkpoint: CheckpointOut | None
    verifier_key: str


class VerifierKeyOut(BaseModel):
    """The note verifier key, `<name>+<hash>+<key>`."""

    verifier_key: str
