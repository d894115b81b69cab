"""Migration tests (pytest-alembic): each starts from an empty database.

The module shares one scratch database, emptied after each test: creating a database per test
cost more than the tests themselves.
"""

from collections.abc import AsyncIterator

import pytest
from alembic.config import Config
from pytest_alembic.plugin.fixtures import alembic_runner
from pytest_pgengine import NewDatabase, Project
from pytest_pgengine import alembic_config as make_alembic_config
from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

# pytest-alembic's plugin is not loaded (see pyproject.toml): its runner fixture comes from here.
__all__ = ["alembic_runner"]


@pytest.fixture
def alembic_config(pgengine_project: Project) -> Config:
    return make_alembic_config(pgengine_project.alembic_ini)


@pytest.fixture(scope="module")
async def scratch_database_url(new_database: NewDatabase) -> AsyncIterator[URL]:
    async with new_database("migrations", migrated=False) as url:
        yield url


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
