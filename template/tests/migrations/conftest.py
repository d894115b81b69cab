"""Migration tests (pytest-alembic): each starts from an empty database.

The module shares one scratch database, emptied after each test: creating a database per test
cost more than the tests themselves.
"""

from collections.abc import AsyncIterator

import pytest
from alembic.config import Config
from pytest_alembic.plugin.fixtures import alembic_runner
from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.fixtures.janitor import Janitor
from tests.fixtures.migrating import alembic_config as make_alembic_config
from tests.fixtures.templates import drop_checking_for_leaks

# pytest-alembic's plugin is not loaded (see pyproject.toml): its runner fixture comes from here.
__all__ = ["alembic_runner"]


@pytest.fixture
def alembic_config() -> Config:
    return make_alembic_config()


@pytest.fixture(scope="module")
async def scratch_database_url(
    postgres_server_url: URL, worker_id: str, run_id: str
) -> AsyncIterator[URL]:
    async with Janitor.connect(postgres_server_url, run_id) as janitor:
        name = janitor.name_for(f"migrations_{worker_id}")
        await janitor.create(name, template="template0")
    yield postgres_server_url.set(database=name)
    async with Janitor.connect(postgres_server_url, run_id) as janitor:
        await drop_checking_for_leaks(janitor, name)


@pytest.fixture
async def alembic_engine(scratch_database_url: URL) -> AsyncIterator[AsyncEngine]:
    # pytest-alembic drives an async engine with asyncio.run(): no pool may outlive that loop.
    engine = create_async_engine(scratch_database_url, poolclass=NullPool)
    yield engine
    # Empty again: what the migrations made lives in the public schema (a migration that
    # creates schemas of its own would drop them here too).
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
