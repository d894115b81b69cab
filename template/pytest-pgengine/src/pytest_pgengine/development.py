"""A database for serving the project by hand (a dev command), on the server the tests use.

    with development_database(Project.at(root), "my_service_dev") as url:
        ...  # serve the application on `url`

It starts the embedded server (or joins the test run that has it up), creates the database if
missing, migrates it unless these very migration scripts did last time (as its comment says: a
warm start spares importing Alembic), and lets go of the server when the block ends.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL, text

from .config import Project
from .connections import admin_connection
from .migrating import migrate
from .servers.local import LocalServer
from .templates import migrations_fingerprint


@contextmanager
def development_database(project: Project, name: str, *, reset: bool = False) -> Iterator[URL]:
    """The migrated database `name` on the embedded server, emptied first on `reset`; raises
    ServerUnavailable where the server cannot start."""
    server = LocalServer.embedded(project)
    print(f"Starting {server.describe()}")
    url = server.start(name)
    try:
        asyncio.run(_prepare(project, url, reset))
        yield url
    finally:
        server.stop()


async def _prepare(project: Project, url: URL, reset: bool) -> None:
    assert url.database is not None
    fingerprint = f"development database; migrations {migrations_fingerprint(project.migrations)}"
    async with admin_connection(url) as admin:
        name = admin.dialect.identifier_preparer.quote_identifier(url.database)
        if reset:
            await admin.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        comment = await admin.scalar(
            text(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                "WHERE datname = :name"
            ),
            {"name": url.database},
        )
        if comment is None:
            await admin.execute(text(f"CREATE DATABASE {name}"))
        if comment != fingerprint:
            print("Applying the migrations")
            await migrate(project.alembic_ini, url)
            # The fingerprint is hex digits and words: nothing in it needs escaping.
            await admin.execute(text(f"COMMENT ON DATABASE {name} IS '{fingerprint}'"))
