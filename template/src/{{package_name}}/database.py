from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .settings import Settings

# A statement that asyncpg prepares under a name lives on one server connection; behind a pooler
# in transaction mode the next transaction may run on another, where the name is unknown or
# means another query. With asyncpg's statement cache and SQLAlchemy's cache of prepared
# statements both off, each statement is prepared unnamed, for one query.
NO_PREPARED_STATEMENTS = {"statement_cache_size": 0, "prepared_statement_cache_size": 0}


def connect_args(settings: Settings) -> dict[str, int]:
    """The driver's options for each new connection."""
    return NO_PREPARED_STATEMENTS if settings.database_transaction_pooler else {}


def create_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        connect_args=connect_args(settings),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        # SQLAlchemy's -1: never.
        pool_recycle=settings.database_pool_recycle or -1,
        # Checks each connection before use (inside a transaction, so also through a pooler).
        pool_pre_ping=True,
        echo=settings.database_echo,
        # A failed statement's parameters (emails, password hashes) stay out of its error, and
        # so out of the logs; DATABASE_ECHO, for local debugging, shows them.
        hide_parameters=not settings.database_echo,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit, so handlers can return what they just saved.
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The application's sessionmaker, for code that needs several sessions of its own."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


async def get_session(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """One session per request, closed (and rolled back if uncommitted) afterwards."""
    async with sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
