"""Dependencies that routes use to declare who may call them.

Every route must declare exactly one access rule: `public` for routes open to anyone
(health, unseal, the public self-referral), or a permission requirement. A test walks the
route table and fails on a route that declares none.
"""

from __future__ import annotations

from fastapi import Depends


def public() -> None:
    """Marks a route as deliberately open to anyone, signed in or not."""


PUBLIC = [Depends(public)]
