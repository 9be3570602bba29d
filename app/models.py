"""Imports every model module so Base.metadata is complete (Alembic and tests rely on it)."""

from app.audit import models as audit_models
from app.crypto import models as crypto_models

__all__ = ["audit_models", "crypto_models"]
