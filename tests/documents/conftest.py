"""Document tests reuse the encryption fixtures (an opened DEK for a synthetic case)."""

from tests.crypto.conftest import committed, dek, owner_id

__all__ = ["committed", "dek", "owner_id"]
