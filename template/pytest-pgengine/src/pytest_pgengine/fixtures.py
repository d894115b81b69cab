"""The database fixtures, from the server down to one test's session.

    postgres_server_url    session   a server (startup.py, server_choice.py)
    worker_database_url    session   this worker's database, cloned from a migrated template
    run_id                 session   this run, announced on the server while it lives
    pgengine_project       session   the project's settings (config.py)
    new_database           session   makes more databases of the run's own (committed data)
    db_engine              session   pooled engine on the worker database
    db_connection          function  one connection inside an outer transaction, rolled back
    db_sessionmaker        function  sessions bound to that connection, each in a SAVEPOINT
    db_session             function  one session from db_sessionmaker

The first three come from startup.py, which makes them in the background while pytest starts
(templates.py clones the databases).

Application code that calls `commit()` only releases its savepoint, and `rollback()` undoes
only its own savepoint. The outer transaction is rolled back after every test, so no test sees
another test's rows, whatever the order or the worker.
"""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import pytest
from sqlalchemy import URL
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool

from .config import Project
from .janitor import Janitor
from .startup import project_of
from .templates import clone_template, drop_checking_for_leaks


class NewDatabase(Protocol):
    """The `new_database` fixture: `async with new_database(role) as url:`."""

    def __call__(self, role: str, *, migrated: bool = True) -> AbstractAsyncContextManager[URL]: ...


@pytest.fixture(scope="session")
def pgengine_project(pytestconfig: pytest.Config) -> Project:
    return project_of(pytestconfig)


@pytest.fixture(scope="session")
def new_database(
    postgres_server_url: URL, run_id: str, pgengine_project: Project, pytestconfig: pytest.Config
) -> NewDatabase:
    """Make a database of this run's own for `role`, beside the worker database, for tests whose
    transactions must commit (real concurrency) or that migrate (`migrated=False`: empty):

        async with new_database("committed") as url:
            ...

    It is a clone of the migrated template, or empty; dropped when the block ends, failing the
    test if a connection to it is still open."""

    worker = getattr(pytestconfig, "workerinput", {}).get("workerid", "main")

    @asynccontextmanager
    async def make(role: str, *, migrated: bool = True) -> AsyncIterator[URL]:
        role = f"{role}_{worker}"
        async with Janitor.connect(postgres_server_url, run_id) as janitor:
            name = janitor.name_for(role)
            if migrated:
                await clone_template(janitor, pgengine_project, role)
            else:
                await janitor.create(name, template="template0")
        try:
            yield postgres_server_url.set(database=name)
        finally:
            async with Janitor.connect(postgres_server_url, run_id) as janitor:
                await drop_checking_for_leaks(janitor, name)

    return make


@pytest.fixture(scope="session")
async def db_engine(worker_database_url: URL) -> AsyncIterator[AsyncEngine]:
    # A pooled engine: a pooled connection costs well under a millisecond, a new one ~12 ms.
    engine = create_async_engine(worker_database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_connection(db_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    pool = db_engine.pool
    assert isinstance(pool, QueuePool)
    try:
        async with db_engine.connect() as connection:
            transaction = await connection.begin()
            yield connection
            await transaction.rollback()
    finally:
        # Checked even when the rollback failed: a leaked connection is the likelier cause.
        if pool.checkedout():
            pytest.fail(
                f"{pool.checkedout()} pooled connection(s) still checked out after the test: "
                "close every connection and session the test opened (use `async with`)."
            )


@pytest.fixture
def db_sessionmaker(db_connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Every session made here works inside the test's transaction, in a savepoint of its own."""
    return async_sessionmaker(
        bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def db_session(
    db_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with db_sessionmaker() as session:
        yield session
