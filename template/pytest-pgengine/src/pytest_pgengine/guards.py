"""Guards that make leaks fail the test that caused them, instead of a later, innocent one.

The connection guards live with the fixtures that own the connections (database.py).
"""

import asyncio
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_tasks_left_running() -> AsyncIterator[None]:
    """Fail a test that leaves an asyncio task running: it would run on into later tests."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)  # let tasks that were finishing anyway finish
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        pytest.fail(
            f"The test left {len(leftover)} task(s) running: "
            + ", ".join(repr(task.get_coro()) for task in leftover)
        )
