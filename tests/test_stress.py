"""Isolation under stress: the generated suite plus write-heavy tests, in random orders, serially
and in parallel; afterwards nothing of the runs is left on the server."""

import os
import re
from pathlib import Path

import pytest

from tools.projects import (
    connections_to_databases_named,
    databases_named,
    project_env,
    render,
    sync,
    uv_run,
)

# META_STRESS_SIZE sets the number of write-heavy tests (default 200).
SIZE = int(os.environ.get("META_STRESS_SIZE", "200"))
WRITE_HEAVY_TESTS = f"""
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from my_service.models import Base, User
from tests.fixtures.factories import UserFactory, user_payload
from tests.fixtures.post_factories import PostFactory


async def committed_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        counts = [
            await connection.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        ]
    return sum(count or 0 for count in counts)


@pytest.mark.parametrize("n", range({SIZE}))
async def test_write_heavy(
    n: int,
    client: AsyncClient,
    db_engine: AsyncEngine,
    db_session: AsyncSession,
    db_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await committed_rows(db_engine) == 0
    assert await db_session.scalar(select(func.count()).select_from(User)) == 0

    for _ in range(3):
        assert (await client.post("/api/v1/users", json=user_payload())).status_code == 201
    await PostFactory.create_batch_async(2)
    duplicate = user_payload(email=f"user{{n}}@example.com")
    imported = await client.post("/api/v1/users/import", json=[duplicate, duplicate])
    assert imported.status_code == 200
    async with db_sessionmaker() as session:
        session.add(UserFactory.build())
        await session.flush()
        await session.rollback()
        session.add(UserFactory.build())
        await session.commit()

    # 3 from the API, 2 authors of posts, 1 imported, 1 kept after the rollback
    assert await db_session.scalar(select(func.count()).select_from(User)) == 7
    assert await committed_rows(db_engine) == 0
"""

RUNS = {
    "seed-1": ["-p", "randomly", "--randomly-seed=1"],
    "seed-2": ["-p", "randomly", "--randomly-seed=2"],
    "seed-3-n2": ["-p", "randomly", "--randomly-seed=3", "-n", "2"],
    "seed-4-n2": ["-p", "randomly", "--randomly-seed=4", "-n", "2"],
}


@pytest.fixture(scope="module")
def stress_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = sync(render(template, tmp_path_factory.mktemp("stress") / "my-service"))
    (project / "tests" / "integration" / "test_write_heavy.py").write_text(WRITE_HEAVY_TESTS)
    return project


@pytest.mark.parametrize("options", RUNS.values(), ids=RUNS.keys())
def test_isolation_holds_under_write_heavy_load(stress_project: Path, options: list[str]) -> None:
    env = project_env(database="meta_stress_test")

    result = uv_run(stress_project, "pytest", "-q", *options, env=env)

    passed = re.search(r"(\d+) passed", result.output)
    assert passed, result.tail()
    assert int(passed.group(1)) > SIZE
    assert not re.search(r"\d+ (failed|error)", result.output)
    assert databases_named(stress_project, "meta_stress_test_", env) == [
        "meta_stress_test_template"
    ]
    assert connections_to_databases_named(stress_project, "meta_stress_test_", env) == 0
