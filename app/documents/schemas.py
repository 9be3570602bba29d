"""Documents as the API describes them (the file itself travels as multipart or bytes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class DocumentOut(BaseModel):
    """One document of a case: its name and type (decrypted), size, evidence hash, uploader."""

    id: uuid.UUID
    name: str
    # The type sniffed from the file's own bytes when it arrived, never the declared one.
    content_type: str
    size: int
    # SHA-256 of the plaintext, checked before every download.
    sha256: str
    uploaded_by: uuid.UUID | None
    uploaded_at: datetime
