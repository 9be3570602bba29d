"""Imports every model module so Base.metadata is complete (Alembic and tests rely on it)."""

from app.audit import models as audit_models
from app.audit import tree as audit_tree  # registers the commit hook that sequences entries

__all__ = ["audit_models", "audit_tree"]
