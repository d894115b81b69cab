"""A lost update, and two ways to prevent it, with transactions that really run concurrently.

Each test runs two increments of one counter at the same time (asyncio.gather, one connection
each). A read-then-write under READ COMMITTED loses one of them; a row lock or SERIALIZABLE
with a retry keeps both.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.concurrency

SERIALIZATION_FAILURE = "40001"
READ = text("SELECT value FROM counters WHERE id = 1")
READ_FOR_UPDATE = text("SELECT value FROM counters WHERE id = 1 FOR UPDATE")
WRITE = text("UPDATE counters SET value = :value WHERE id = 1")


@pytest.fixture
async def counter(committed_engine: AsyncEngine) -> AsyncIterator[None]:
    """A counter at 0, committed, and dropped afterwards."""
    async with committed_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE counters (id int PRIMARY KEY, value int)"))
        await connection.execute(text("INSERT INTO counters VALUES (1, 0)"))
    yield
    async with committed_engine.begin() as connection:
        await connection.execute(text("DROP TABLE counters"))


async def counter_value(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        value = await connection.scalar(READ)
    assert isinstance(value, int)
    return value


@pytest.mark.usefixtures("counter")
async def test_read_then_write_loses_an_update(committed_engine: AsyncEngine) -> None:
    both_have_read = asyncio.Barrier(2)

    async def increment() -> None:
        async with committed_engine.begin() as connection:
            value = await connection.scalar(READ)
            await both_have_read.wait()  # both read 0 before either writes
            await connection.execute(WRITE, {"value": value + 1})

    await asyncio.gather(increment(), increment())

    assert await counter_value(committed_engine) == 1  # two increments, one lost


@pytest.mark.usefixtures("counter")
async def test_a_row_lock_keeps_both_updates(committed_engine: AsyncEngine) -> None:
    both_have_begun = asyncio.Barrier(2)

    async def increment() -> None:
        async with committed_engine.begin() as connection:
            await both_have_begun.wait()
            # The second transaction waits here until the first commits, then reads its value.
            value = await connection.scalar(READ_FOR_UPDATE)
            await connection.execute(WRITE, {"value": value + 1})

    await asyncio.gather(increment(), increment())

    assert await counter_value(committed_engine) == 2


@pytest.mark.usefixtures("counter")
async def test_serializable_with_a_retry_keeps_both_updates(committed_engine: AsyncEngine) -> None:
    both_have_read = asyncio.Barrier(2)
    attempts: list[int] = []

    async def increment() -> None:
        for attempt in range(1, 4):
            attempts.append(attempt)
            try:
                async with committed_engine.connect() as connection:
                    await connection.execution_options(isolation_level="SERIALIZABLE")
                    async with connection.begin():
                        value = await connection.scalar(READ)
                        if attempt == 1:
                            await both_have_read.wait()
                        await connection.execute(WRITE, {"value": value + 1})
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != SERIALIZATION_FAILURE:
                    raise
            else:
                return
        raise AssertionError("no attempt succeeded")

    await asyncio.gather(increment(), increment())

    assert await counter_value(committed_engine) == 2
    assert sorted(attempts) == [1, 1, 2]  # the transaction that lost the race ran again
