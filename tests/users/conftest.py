"""Account tests reuse the case tests' synthetic organisation (two teams, every role)."""

from tests.cases.conftest import Org, org

__all__ = ["Org", "org"]
