"""Tests of real concurrency: transactions that commit, on connections of their own.

Savepoint isolation cannot host these: every session of a test shares one connection, and
concurrent statements on one connection do not make concurrent transactions. These tests get a
database of their own instead (a clone of the migrated template, from the test engine's
`new_database`), dropped afterwards.
"""

from collections.abc import AsyncIterator

import pytest
from pytest_pgengine import NewDatabase
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@pytest.fixture(scope="module")
async def committed_engine(new_database: NewDatabase) -> AsyncIterator[AsyncEngine]:
    """An engine on a database of this module's own, where transactions commit for real."""
    async with new_database("committed") as url:
        engine = create_async_engine(url)
        yield engine
        await engine.dispose()
