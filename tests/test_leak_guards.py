"""A test that leaks makes the generated suite fail, naming the leak."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tools.projects import uv_run

LEAKY_TESTS = {
    "task": (
        """
import asyncio


async def test_leaves_a_task_running() -> None:
    asyncio.get_running_loop().create_task(asyncio.sleep(60))
""",
        "The test left 1 task(s) running",
    ),
    "pooled-connection": (
        """
from sqlalchemy.ext.asyncio import AsyncEngine

kept = []


async def test_keeps_a_connection(db_engine: AsyncEngine) -> None:
    kept.append(await db_engine.connect())
""",
        "1 pooled connection(s) still checked out after the test",
    ),
    "connection-outside-the-pool": (
        """
import asyncpg
from sqlalchemy import URL

kept = []


async def test_opens_its_own_connection(worker_database_url: URL) -> None:
    dsn = worker_database_url.set(drivername="postgresql")
    kept.append(await asyncpg.connect(dsn.render_as_string(hide_password=False)))
""",
        "were still open at the end of the run",
    ),
}


@pytest.mark.parametrize("leak", LEAKY_TESTS)
def test_leak_fails_the_run(render_project: Callable[..., Path], leak: str) -> None:
    source, message = LEAKY_TESTS[leak]
    project = render_project()
    (project / "tests" / "integration" / "test_leak.py").write_text(source)

    leak = "tests/integration/test_leak.py"
    result = uv_run(project, "pytest", "-q", "-p", "no:randomly", leak, check=False)

    assert result.returncode == 1, result.output
    assert message in result.output, result.output
