"""Connections for the suite's own housekeeping on the test server, outside the tests'
transactions: checking that it answers, creating and dropping databases, holding a run's lock."""

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

CONNECT_TIMEOUT = 5  # seconds: a server that has not answered by then is reported


def import_driver() -> None:
    """Import what a first connection imports: asyncpg and SQLAlchemy's dialect for it."""
    importlib.import_module("sqlalchemy.dialects.postgresql.asyncpg")
    importlib.import_module("asyncpg")


@asynccontextmanager
async def admin_connection(
    server_url: URL, database: str = "postgres"
) -> AsyncIterator[AsyncConnection]:
    """A connection to `database` on the server (by default its maintenance database), in
    autocommit: CREATE DATABASE and DROP DATABASE cannot run inside a transaction."""
    engine = create_async_engine(
        server_url.set(database=database),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": CONNECT_TIMEOUT},
    )
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()
