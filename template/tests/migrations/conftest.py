"""Migration tests (pytest-alembic): each runs against an empty scratch database of its own."""

from collections.abc import AsyncIterator

import pytest
from alembic.config import Config
from pytest_alembic.plugin.fixtures import alembic_runner
from sqlalchemy import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.fixtures.database import drop_checking_for_leaks, janitor_for
from tests.fixtures.janitor import admin_connection
from tests.fixtures.migrating import alembic_config as make_alembic_config

# pytest-alembic's plugin is not loaded (see pyproject.toml): its runner fixture comes from here.
__all__ = ["alembic_runner"]


@pytest.fixture
def alembic_config() -> Config:
    return make_alembic_config()


@pytest.fixture
async def alembic_engine(
    postgres_server_url: URL, worker_id: str, run_id: str
) -> AsyncIterator[AsyncEngine]:
    async with admin_connection(postgres_server_url) as admin:
        databases = janitor_for(admin, postgres_server_url, run_id)
        name = databases.name_for(f"migrations_{worker_id}")
        await databases.create(name, template="template0")
    # pytest-alembic drives an async engine with asyncio.run(): no pool may outlive that loop.
    engine = create_async_engine(postgres_server_url.set(database=name), poolclass=NullPool)
    yield engine
    await engine.dispose()
    await drop_checking_for_leaks(postgres_server_url, run_id, name)
