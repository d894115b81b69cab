"""The run's server and this process's database on it, made by a thread of its own while pytest
imports the conftests, the app and the tests (about half a second): most of that work is the
server's, on another core.

The thread runs an event loop of its own (pytest-asyncio's starts with the first test). On it,
one admin connection holds the run's lock (janitor.py) until the end of the run, and that
connection belongs to the loop. But no thread may outlive the start: a process that forks while
another thread runs gets a warning on Python 3.12+, an error under filterwarnings. So the thread
runs the loop until the start is done and ends; at the end of the run, the main thread runs the
same loop to drop the database and close the connection (HandedOverLoop).

The thread imports no module either: two threads importing at once can break both imports
(CPython's import locks, python/cpython#83065). The main thread imports the driver while the
thread starts the server, which imports nothing, and the thread connects only then; a template
that must be migrated, which imports Alembic, is left to the main thread, when a test first
asks for the database and the main thread waits for it.
"""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from contextlib import AsyncExitStack
from threading import Event, Thread
from typing import Any, TypeVar

from sqlalchemy import URL

from .config import Project
from .connections import admin_connection, import_driver
from .janitor import Janitor
from .templates import TemplateOutdated, clone_template, drop_checking_for_leaks

T = TypeVar("T")


class HandedOverLoop:
    """An event loop that a thread of its own runs first (`begin`), and then, once that thread
    has ended, whichever thread calls `run`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread: Thread | None = None

    def begin(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._thread = Thread(
            target=self._loop.run_until_complete,
            args=[coroutine],
            name="postgres-startup",
            daemon=True,
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._thread is not None:
            self._thread.join()
        return self._loop.run_until_complete(coroutine)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._loop.close()


class BackgroundStart:
    """A server, and on it this process's database for `database_role` ("main", "gw0"; None
    for no database: xdist's controller), a clone of `project`'s migrated template, both made
    in the background from now on.

    A failure is kept, to be raised where the server or the database is needed.
    """

    def __init__(
        self,
        project: Project,
        start_server: Callable[[], URL],
        stop_server: Callable[[], None],
        run_id: str,
        database_role: str | None,
    ) -> None:
        self.run_id = run_id
        self._project = project
        self._database_role = database_role
        self._stop_server = stop_server
        self._server: Future[URL] = Future()
        self._database: Future[URL] | None = None if database_role is None else Future()
        self._janitor: Janitor | None = None
        self._held = AsyncExitStack()  # the admin connection, while the run lives
        self._dropped = False
        self._closed = False
        self._driver_imported = Event()
        self._loop = HandedOverLoop()
        self._loop.begin(self._begin(start_server))
        try:
            import_driver()
        finally:
            self._driver_imported.set()

    def server_url(self) -> URL:
        return self._server.result()

    def database_url(self) -> URL:
        assert self._database is not None, "xdist's controller runs no tests"
        try:
            return self._database.result()
        except TemplateOutdated:
            # Migrated here, on the main thread, while it waits (see the top of this module).
            url = self._loop.run(self._migrate_and_clone())
        self._database = Future()
        self._database.set_result(url)
        return url

    def drop_database(self) -> None:
        """Drop this process's database; fail if anything is still connected to it (a leak)."""
        self._dropped = True
        self._loop.run(self._drop(self.database_url()))

    def close(self) -> None:
        """End the run on the server: drop a database no test used, release the run's lock, stop
        the server if this process started it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.run(self._end())
        finally:
            self._loop.close()
            self._stop_server()

    async def _begin(self, start_server: Callable[[], URL]) -> None:
        try:
            server_url = start_server()  # blocking is fine: this loop has nothing else to do
        except BaseException as exc:
            for outcome in (self._server, self._database):
                if outcome is not None:
                    outcome.set_exception(exc)
            return
        self._server.set_result(server_url)
        role = self._database_role
        if self._database is None or role is None:
            return
        self._driver_imported.wait()
        try:
            self._database.set_result(await self._make_database(server_url, role))
        except BaseException as exc:
            self._database.set_exception(exc)

    async def _make_database(self, server_url: URL, role: str) -> URL:
        # One admin connection for the whole run: it holds the run's lock until it closes.
        admin = await self._held.enter_async_context(admin_connection(server_url))
        self._janitor = janitor = Janitor(admin, server_url, self.run_id)
        # Announced first: from then on no other run takes this run's databases for a dead one's.
        await janitor.announce_run()
        await janitor.drop_dead_runs_databases()
        return await clone_template(janitor, self._project, role, may_migrate=False)

    async def _migrate_and_clone(self) -> URL:
        assert self._janitor is not None
        assert self._database_role is not None
        return await clone_template(self._janitor, self._project, self._database_role)

    async def _drop(self, database_url: URL) -> None:
        assert self._janitor is not None
        assert database_url.database is not None
        await drop_checking_for_leaks(self._janitor, database_url.database)

    async def _end(self) -> None:
        # A database that could not be made concerns only the tests that needed it, and they
        # reported it; one that no test used is dropped here.
        database = self._database
        if database is not None and database.exception() is None and not self._dropped:
            await self._drop(database.result())
        await self._held.aclose()
