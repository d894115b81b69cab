"""pytest-alembic's checks, imported explicitly rather than through its collection hook.

- single head: the history has not forked;
- upgrade: every revision applies from an empty database to head;
- model definitions match DDL: autogenerate finds nothing the migrations missed;
- up/down consistency: every revision downgrades cleanly.
"""

from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]
