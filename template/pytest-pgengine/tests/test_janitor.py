"""The janitor drops only what the engine made, and the settings come from the ini file."""

import pytest
from sqlalchemy import URL, text

from pytest_pgengine import DropRefused, Janitor, Project, admin_connection


async def test_a_database_the_engine_did_not_make_is_never_dropped(
    postgres_server_url: URL, run_id: str
) -> None:
    name = f"{postgres_server_url.database}_snap_20250101"
    async with admin_connection(postgres_server_url) as admin:
        await admin.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        async with Janitor.connect(postgres_server_url, run_id) as janitor:
            with pytest.raises(DropRefused, match="not created by the tests"):
                await janitor.drop(name)
            await janitor.drop_dead_runs_databases()
            assert await janitor.comment(name) == ""  # still there
    finally:
        async with admin_connection(postgres_server_url) as admin:
            await admin.execute(text(f'DROP DATABASE "{name}"'))


def test_the_settings_come_from_the_ini_file(pgengine_project: Project) -> None:
    assert pgengine_project.database == "pgengine_test"
    assert pgengine_project.alembic_ini.is_file()
    assert (pgengine_project.migrations / "env.py").is_file()


async def test_the_worker_database_is_a_migrated_clone(
    postgres_server_url: URL, worker_database_url: URL
) -> None:
    assert worker_database_url.database is not None
    assert worker_database_url.database.startswith(f"{postgres_server_url.database}_")
    async with admin_connection(worker_database_url, worker_database_url.database) as connection:
        tables = await connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        )
        assert list(tables) == ["alembic_version", "items"]
