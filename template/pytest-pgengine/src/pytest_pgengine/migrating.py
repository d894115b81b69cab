"""Running the project's Alembic migrations from the tests.

Alembic is imported only where migrations run (a template database being built, the migration
tests): importing it costs a run that reuses the template a noticeable part of its start-up.

The project's `env.py` must migrate the connection it is handed in
`config.attributes["connection"]` when there is one (the README shows the few lines).
"""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(alembic_ini: Path) -> "Config":
    """Alembic's configuration from `alembic_ini`, leaving logging to pytest."""
    from alembic.config import Config

    config = Config(alembic_ini)
    config.attributes["configure_logger"] = False
    return config


async def migrate(alembic_ini: Path, url: URL) -> None:
    """Upgrade the database at `url` to the newest revision."""

    from alembic import command

    def upgrade_to_head(connection: Connection) -> None:
        config = alembic_config(alembic_ini)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to_head)
    finally:
        await engine.dispose()
