"""Each test runs in a transaction that is rolled back, whatever the code under test commits."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from pytest_pgengine import NewDatabase

from .project.models import Item


async def count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Item)) or 0


# Both orders are covered: each test finds the table empty, then commits a row of its own.
@pytest.mark.parametrize("name", ["first", "second"])
async def test_a_commit_does_not_outlive_the_test(
    db_sessionmaker: async_sessionmaker[AsyncSession], name: str
) -> None:
    assert await count(db_sessionmaker) == 0

    async with db_sessionmaker() as session:
        session.add(Item(name=name))
        await session.commit()

    assert await count(db_sessionmaker) == 1


async def test_a_rollback_undoes_only_its_own_savepoint(
    db_session: AsyncSession, db_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    db_session.add(Item(name="kept"))
    await db_session.commit()

    async with db_sessionmaker() as session:
        session.add(Item(name="undone"))
        await session.flush()
        await session.rollback()

    names = await db_session.scalars(select(Item.name))
    assert list(names) == ["kept"]


async def test_a_new_database_commits_for_real(new_database: object) -> None:

    assert callable(new_database)
    make: NewDatabase = new_database
    async with make("committed") as url:
        engine = create_async_engine(url)
        try:
            async with AsyncSession(engine) as writer:
                writer.add(Item(name="committed"))
                await writer.commit()
            async with AsyncSession(engine) as reader:  # another connection sees it
                assert await reader.scalar(select(Item.name)) == "committed"
        finally:
            await engine.dispose()
