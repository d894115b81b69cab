"""Connections for the suite's own housekeeping on the test server, outside the tests'
transactions: checking that it answers, creating and dropping databases, holding a run's lock."""

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from .servers import ServerUnavailable

CONNECT_TIMEOUT = 5  # seconds: a server that has not answered by then is reported
# Every statement prepared unnamed, for one query (asyncpg's statement cache and SQLAlchemy's
# cache of prepared statements off): nothing that a pooler's next client could find.
NO_PREPARED_STATEMENTS = {"statement_cache_size": 0, "prepared_statement_cache_size": 0}


def import_driver() -> None:
    """Import what a first connection imports: asyncpg and SQLAlchemy's dialect for it."""
    importlib.import_module("sqlalchemy.dialects.postgresql.asyncpg")
    importlib.import_module("asyncpg")


@asynccontextmanager
async def admin_connection(
    server_url: URL, database: str = "postgres"
) -> AsyncIterator[AsyncConnection]:
    """A connection to `database` on the server (by default its maintenance database), in
    autocommit: CREATE DATABASE and DROP DATABASE cannot run inside a transaction. Raises
    ServerUnavailable, before anything else runs on it, where it reached a connection pooler
    rather than the server itself."""
    engine = create_async_engine(
        server_url.set(database=database),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": CONNECT_TIMEOUT, **NO_PREPARED_STATEMENTS},
    )
    try:
        async with engine.connect() as connection:
            await refuse_a_pooler(connection, server_url)
            yield connection
    finally:
        await engine.dispose()


async def refuse_a_pooler(connection: AsyncConnection, server_url: URL) -> None:
    """Raise ServerUnavailable if `connection` goes through a connection pooler (PgBouncer).

    The tests create, rename and drop databases and hold a lock for the whole run: through a
    pooler, other clients share the server's sessions (a database "is being accessed by other
    users", a lock held for someone else). A pooler answers the startup with key data of its
    own, for the cancel requests it forwards: the process id there is not that of the server's
    process that runs the queries, as it is on a connection to the server.
    """
    raw = await connection.get_raw_connection()
    announced: int = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    if await connection.scalar(text("SELECT pg_backend_pid()")) == announced:
        return
    where = f"{server_url.host or 'localhost'}:{server_url.port or 5432}"
    raise ServerUnavailable(
        f"{where} is a connection pooler (such as PgBouncer), not the PostgreSQL server: the "
        "tests create, rename and drop databases and hold a lock for the whole run, which a "
        "pooler does not pass on. Point TEST_DATABASE_URL at the PostgreSQL server itself (its "
        "own host and port, not the pooler's); the service may still go through the pooler."
    )
