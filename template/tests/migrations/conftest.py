"""Migration tests (pytest-alembic): each runs against an empty scratch database of its own."""

from collections.abc import AsyncIterator

import pytest
from alembic.config import Config
from sqlalchemy import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.fixtures.database import alembic_config as make_alembic_config
from tests.fixtures.database import database_name
from tests.fixtures.provisioning import admin_connection, create_database, drop_own_database


@pytest.fixture
def alembic_config() -> Config:
    return make_alembic_config()


@pytest.fixture
async def alembic_engine(
    postgres_server_url: URL, worker_id: str, run_id: str
) -> AsyncIterator[AsyncEngine]:
    name = database_name(postgres_server_url, f"migrations_{worker_id}")
    async with admin_connection(postgres_server_url) as admin:
        await drop_own_database(admin, name)
        await create_database(admin, name, template="template0", run_id=run_id)
    # pytest-alembic drives an async engine with asyncio.run(): no pool may outlive that loop.
    engine = create_async_engine(postgres_server_url.set(database=name), poolclass=NullPool)
    yield engine
    await engine.dispose()
    async with admin_connection(postgres_server_url) as admin:
        await drop_own_database(admin, name)
