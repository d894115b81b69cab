"""A server that is already running: the one `TEST_DATABASE_URL` names (a CI service, a
local install). The tests never start or stop it."""

import asyncio

from sqlalchemy import URL
from sqlalchemy.exc import SQLAlchemyError

from ..connections import admin_connection
from . import ServerUnavailable


class ConfiguredServer:
    name = "TEST_DATABASE_URL"

    def __init__(self, url: URL) -> None:
        self.url = url

    def describe(self) -> str:
        return f"the server of TEST_DATABASE_URL ({self.url.render_as_string()})"

    def check_reachable(self) -> None:
        """Raise ServerUnavailable unless the server accepts a connection within seconds, and
        is the server itself rather than a connection pooler in front of it."""

        async def connect() -> None:
            async with admin_connection(self.url):
                pass

        try:
            asyncio.run(connect())
        except (OSError, TimeoutError, SQLAlchemyError) as exc:
            raise ServerUnavailable(
                f"Cannot reach the PostgreSQL server at {self.url.host}:{self.url.port} that "
                f"TEST_DATABASE_URL names: {exc}"
            ) from exc

    def start(self, database: str) -> URL:
        return self.url

    def stop(self) -> None:
        pass
