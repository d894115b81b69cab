"""Isolation strategies for the benchmark, behind one fixture: `bench_client`.

BENCH_STRATEGY picks one: savepoint (the template's own), delete (DELETE FROM every table),
truncate (TRUNCATE every table), schema (drop and create the tables), clone (a database cloned
from the migrated template for every test). All but savepoint let the application commit.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from my_service.models import Base
from pytest_pgengine import NewDatabase
from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from tests.fixtures.client import sessions_from

STRATEGY = os.environ.get("BENCH_STRATEGY", "savepoint")
TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)


@asynccontextmanager
async def committing_client(app: FastAPI, engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    with sessions_from(app, async_sessionmaker(engine, expire_on_commit=False)):
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            yield client


@pytest.fixture
def bench_client(request: pytest.FixtureRequest, app: FastAPI) -> AsyncClient:
    # `app` is requested here, not only through getfixturevalue: its lifespan task must exist
    # before the test starts, or the guard against tasks left running would count it.
    client: AsyncClient = request.getfixturevalue(f"{STRATEGY}_client")
    return client


@pytest.fixture
def savepoint_client(async_client: AsyncClient) -> AsyncClient:
    return async_client


@pytest.fixture
async def delete_client(app: FastAPI, db_engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    async with committing_client(app, db_engine) as client:
        yield client
    async with db_engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
async def truncate_client(app: FastAPI, db_engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    async with committing_client(app, db_engine) as client:
        yield client
    async with db_engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
async def schema_engine(worker_database_url: URL) -> AsyncIterator[AsyncEngine]:
    # Recreated tables are new objects: asyncpg's statement cache would still name the old ones.
    engine = create_async_engine(
        worker_database_url, connect_args={"prepared_statement_cache_size": 0}
    )
    yield engine
    await engine.dispose()


@pytest.fixture
async def schema_client(app: FastAPI, schema_engine: AsyncEngine) -> AsyncIterator[AsyncClient]:
    async with committing_client(app, schema_engine) as client:
        yield client
    async with schema_engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)


@pytest.fixture
async def clone_client(app: FastAPI, new_database: NewDatabase) -> AsyncIterator[AsyncClient]:
    async with new_database("bench") as url:
        engine = create_async_engine(url)
        async with committing_client(app, engine) as client:
            yield client
        await engine.dispose()
