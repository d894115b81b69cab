"""Creates and drops the suite's own databases on the test server, as pytest-postgresql's
DatabaseJanitor does, plus what it lacks:

- the mark: every database made here carries a comment that says it is the suite's own, and the
  migrated template carries the same mark inside (a comment on its public schema), which each
  clone inherits the moment CREATE DATABASE makes it. A database with neither is never
  dropped, whatever its name;
- the run lock: every run holds a shared advisory lock on the server while it lives
  (announce_run) and names its databases with the lock's key, so the next run drops what a
  killed run left, and spares the databases of a run still going (in another terminal, say).
"""

import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from sqlalchemy import URL, literal, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from .connections import admin_connection

OWN_MARK = "created by the test suite"
# Advisory lock namespaces (the first of the two keys) used by the suite.
RUN_LOCK_NAMESPACE = 0x7E57
TEMPLATE_LOCK_NAMESPACE = 0x7E58


class DropRefused(Exception):
    """The janitor will not drop a database: the suite did not make it, or it is in use."""


def lock_key(name: str) -> int:
    """A 32-bit advisory lock key for `name` (a run id, a database name)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


class Janitor:
    """The databases of one run, named `<base>_<role>_<run key>` after the database of
    `server_url`, through the admin connection `admin` to that server."""

    def __init__(self, admin: AsyncConnection, server_url: URL, run_id: str) -> None:
        assert server_url.database is not None
        self.admin = admin
        self.server_url = server_url
        self.base = server_url.database
        self.run_key = lock_key(run_id)
        self._run_name = re.compile(re.escape(self.base) + r"_.+_(?P<key>[0-9a-f]{8})")

    @classmethod
    @asynccontextmanager
    async def connect(cls, server_url: URL, run_id: str) -> AsyncIterator[Self]:
        """A janitor for run `run_id`, on an admin connection of its own."""
        async with admin_connection(server_url) as admin:
            yield cls(admin, server_url, run_id)

    async def announce_run(self) -> None:
        """Hold this run's lock until the admin connection closes: all the workers of one run
        share it, and a run that was killed loses it with its connection."""
        await self.admin.execute(
            text("SELECT pg_advisory_lock_shared(:namespace, :key)"),
            {"namespace": RUN_LOCK_NAMESPACE, "key": self.run_key},
        )

    def name_for(self, role: str) -> str:
        """The name of this run's database for `role` ("gw0", "migrations_gw0", ...)."""
        return f"{self.base}_{role}_{self.run_key & 0xFFFFFFFF:08x}"

    def quote(self, name: str) -> str:
        return self.admin.dialect.identifier_preparer.quote_identifier(name)

    async def create(self, name: str, *, template: str) -> None:
        """Create `name` as a copy of `template`, marked as the suite's own."""
        await self.admin.execute(
            text(f"CREATE DATABASE {self.quote(name)} TEMPLATE {self.quote(template)}")
        )
        await self.set_comment(name, OWN_MARK)

    async def mark_inside(self, name: str) -> None:
        """Mark the database's contents as the suite's own: its clones inherit the mark."""
        async with admin_connection(self.server_url, name) as connection:
            await connection.execute(text(f"COMMENT ON SCHEMA public IS {self._literal(OWN_MARK)}"))

    async def rename(self, name: str, new_name: str) -> None:
        await self.admin.execute(
            text(f"ALTER DATABASE {self.quote(name)} RENAME TO {self.quote(new_name)}")
        )

    async def drop(self, name: str) -> None:
        """Drop `name` if it exists; refuse a database the suite did not create or one in use."""
        comment = await self.comment(name)
        if comment is None:
            return
        if not comment.startswith(OWN_MARK):
            raise DropRefused(
                f"Database {name!r} exists but was not created by the tests; refusing to drop "
                "it. Point TEST_DATABASE_URL at another database name."
            )
        if users := await self.connections_to(name):
            raise DropRefused(
                f"Database {name!r} is in use (another test run?):\n" + "\n".join(users)
            )
        await self.admin.execute(text(f"DROP DATABASE {self.quote(name)}"))

    async def drop_dead_runs_databases(self) -> list[str]:
        """Drop what runs no longer alive (killed runs) left: databases named for a run whose
        lock nobody holds, marked as the suite's own. A clone whose run was killed before its
        comment carries the mark inside; one without any mark is never touched."""
        result = await self.admin.execute(
            text(
                "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') "
                "FROM pg_database WHERE starts_with(datname, :prefix)"
            ),
            {"prefix": f"{self.base}_"},
        )
        dropped = []
        for name, comment in result.all():
            run_name = self._run_name.fullmatch(name)
            if run_name is None or not (comment == "" or comment.startswith(OWN_MARK)):
                continue
            key = int.from_bytes(bytes.fromhex(run_name["key"]), "big", signed=True)
            if key == self.run_key or await self._run_is_alive(key):
                continue
            if comment or await self._marked_inside(name):
                await self.admin.execute(text(f"DROP DATABASE IF EXISTS {self.quote(name)}"))
                dropped.append(name)
        return dropped

    async def _run_is_alive(self, key: int) -> bool:
        lock = {"namespace": RUN_LOCK_NAMESPACE, "key": key}
        if await self.admin.scalar(text("SELECT pg_try_advisory_lock(:namespace, :key)"), lock):
            await self.admin.execute(text("SELECT pg_advisory_unlock(:namespace, :key)"), lock)
            return False
        return True

    async def _marked_inside(self, name: str) -> bool:
        try:
            async with admin_connection(self.server_url, name) as connection:
                mark: str | None = await connection.scalar(
                    text("SELECT obj_description('public'::regnamespace, 'pg_namespace')")
                )
        except SQLAlchemyError:
            return False  # nothing to look at (no public schema, no connections allowed)
        return mark == OWN_MARK

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold the server-wide lock on `name`, for as long as the context lasts."""
        lock = {"namespace": TEMPLATE_LOCK_NAMESPACE, "key": lock_key(name)}
        await self.admin.execute(text("SELECT pg_advisory_lock(:namespace, :key)"), lock)
        try:
            yield
        finally:
            await self.admin.execute(text("SELECT pg_advisory_unlock(:namespace, :key)"), lock)

    async def comment(self, name: str) -> str | None:
        """The database's comment ("" for none), or None if there is no such database."""
        result = await self.admin.execute(
            text(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') "
                "FROM pg_database WHERE datname = :name"
            ),
            {"name": name},
        )
        return result.scalar_one_or_none()

    async def set_comment(self, name: str, comment: str) -> None:
        await self.admin.execute(
            text(f"COMMENT ON DATABASE {self.quote(name)} IS {self._literal(comment)}")
        )

    def _literal(self, value: str) -> str:
        # COMMENT takes no bound parameters: the dialect renders the string literal.
        return str(literal(value).compile(self.admin, compile_kwargs={"literal_binds": True}))

    async def connections_to(self, name: str) -> list[str]:
        """Describe every client connected to database `name`, other than us (the server's own
        workers, such as autovacuum's, come and go by themselves)."""
        result = await self.admin.execute(
            text(
                "SELECT format('pid %s (%s, %s): %s', pid, coalesce(application_name, ''), "
                "state, left(query, 200)) FROM pg_stat_activity WHERE datname = :name "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ),
            {"name": name},
        )
        return list(result.scalars())

    async def disconnect_all(self, name: str) -> None:
        """End every session connected to database `name`, other than our own, waiting up to
        5 s for each to go: a DROP right after would find a signalled backend still there."""
        await self.admin.execute(
            text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
