"""Integration tests: the real PostgreSQL database, each test inside its own transaction."""

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.factories import bind_factories


@pytest.fixture(autouse=True)
def factories_use_test_session(db_session: AsyncSession) -> Iterator[None]:
    bind_factories(db_session)
    yield
    bind_factories(None)
