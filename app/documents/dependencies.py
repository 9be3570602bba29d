"""What document routes reach: a case to upload to or list, or one document of a case,
each found within the caller's scope (app/policy/access.py) or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import CASE, DOCUMENT, CaseAccess, DocumentAccess, Scoped
from app.policy.permissions import Permission

DocumentUpload = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.DOCUMENT_UPLOAD))]
CaseDocuments = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.DOCUMENT_READ))]
DocumentRead = Annotated[DocumentAccess, Depends(Scoped(DOCUMENT, Permission.DOCUMENT_READ))]
