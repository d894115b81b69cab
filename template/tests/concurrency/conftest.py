"""Tests of real concurrency: transactions that commit, on connections of their own.

Savepoint isolation cannot host these: every session of a test shares one connection, and
concurrent statements on one connection do not make concurrent transactions. These tests get a
database of their own instead (a clone of the migrated template) and clean up after themselves.
"""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.fixtures.janitor import Janitor
from tests.fixtures.templates import clone_template, drop_checking_for_leaks


@pytest.fixture(scope="module")
async def committed_engine(
    worker_database_url: URL, postgres_server_url: URL, worker_id: str, run_id: str
) -> AsyncIterator[AsyncEngine]:
    """An engine on a database of this module's own, where transactions commit for real."""
    async with Janitor.connect(postgres_server_url, run_id) as janitor:
        url = await clone_template(janitor, f"committed_{worker_id}")
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()
    assert url.database is not None
    async with Janitor.connect(postgres_server_url, run_id) as janitor:
        await drop_checking_for_leaks(janitor, url.database)
