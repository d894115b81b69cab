"""The ways to get a PostgreSQL server for the tests; server_choice.py picks one.

Each is an object with a `name` (the way's, as TEST_POSTGRES spells it) and three methods:
`start(database)` returns the URL of `database` on a running server, `stop()` lets go of it,
and `describe()` says what it is in one line.
"""

from typing import Protocol

from sqlalchemy import URL


class Server(Protocol):
    name: str

    def start(self, database: str) -> URL: ...

    def stop(self) -> None: ...

    def describe(self) -> str: ...


class ServerUnavailable(Exception):
    """This way of getting a server does not work here; the message says why."""
