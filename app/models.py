"""Imports every model module so Base.metadata is complete (Alembic and tests rely on it)."""

from app.audit import models as audit_models
from app.audit import tree as audit_tree  # registers the commit hook that sequences entries
from app.cases import models as case_models
from app.crypto import models as crypto_models
from app.documents import models as document_models
from app.referrals import models as referral_models
from app.reports import counts as report_counts
from app.security import models as security_models
from app.tasks import models as task_models
from app.users import models as user_models

__all__ = [
    "audit_models",
    "audit_tree",
    "case_models",
    "crypto_models",
    "document_models",
    "referral_models",
    "report_counts",
    "security_models",
    "task_models",
    "user_models",
]
