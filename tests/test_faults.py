"""Faults the generated suite must survive: a server that refuses or never answers, a run killed
mid-way, and someone connected to the template database."""

import hashlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tools.machine import wait_for
from tools.projects import UV_RUN, databases_named, driver_dsn, project_env, query, uv_run

SLOW_TEST = """
import asyncio

from httpx import AsyncClient


async def test_slow(client: AsyncClient) -> None:
    await asyncio.sleep(60)
"""
HOLD_CONNECTION = """
import asyncio, sys
import asyncpg

async def main():
    connection = await asyncpg.connect(sys.argv[1])
    print("connected", flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
"""


@pytest.fixture
def refusing_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connections to it are refused


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that completes TCP handshakes (the kernel's backlog) and then never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("options", [[], ["-n", "2"]], ids=["serial", "n2"])
@pytest.mark.parametrize("server", ["refusing_port", "silent_port"])
def test_an_unreachable_server_stops_the_run_within_seconds(
    default_project: Path, request: pytest.FixtureRequest, server: str, options: list[str]
) -> None:
    port = request.getfixturevalue(server)
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/meta_test"
    started = time.monotonic()

    result = uv_run(
        default_project,
        "pytest",
        *options,
        env=project_env(TEST_DATABASE_URL=url),
        timeout=120,
        check=False,
    )

    elapsed = time.monotonic() - started
    assert result.returncode == 4, result.output
    assert f"Cannot reach the PostgreSQL server at 127.0.0.1:{port}" in result.output
    # The connect timeout is 5 s; asyncpg's own default would wait 60 s.
    assert elapsed < 20, f"took {elapsed:.1f} s"


def test_a_killed_run_leaves_databases_that_the_next_run_removes(
    render_project: Callable[..., Path],
) -> None:
    project = render_project()
    env = project_env(database="meta_killed_test")
    slow_test = project / "tests" / "integration" / "test_slow.py"
    slow_test.write_text(SLOW_TEST)
    command = [*UV_RUN, "pytest", "-q", "-n", "2", "-p", "no:randomly"]
    # A live run, to kill mid-way with all its processes (a session of its own).
    killed = subprocess.Popen(command, cwd=project, env=env, start_new_session=True)
    try:
        wait_for(lambda: len(databases_named(project, "meta_killed_test_gw", env)) == 2, 120)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    left_behind = databases_named(project, "meta_killed_test_gw", env)
    slow_test.unlink()

    uv_run(project, "pytest", "-q", env=env)

    # Each database carries the run's key: <base>_<worker>_<8 hex digits>.
    assert [re.sub("_[0-9a-f]{8}$", "_<run>", name) for name in left_behind] == [
        "meta_killed_test_gw0_<run>",
        "meta_killed_test_gw1_<run>",
    ]
    assert databases_named(project, "meta_killed_test_", env) == ["meta_killed_test_template"]


def test_a_connection_to_the_template_does_not_hang_the_run(default_project: Path) -> None:
    env = project_env(database="meta_template_test")
    uv_run(default_project, "pytest", "-q", "tests/unit", env=env)
    uv_run(default_project, "pytest", "-q", "-k", "health", env=env)
    template = driver_dsn(env, "meta_template_test_template")
    holder_command = [".venv/bin/python", "-c", HOLD_CONNECTION, template]
    # A live process that holds its connection while the run goes on beside it.
    with subprocess.Popen(
        holder_command, cwd=default_project, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "connected"
        started = time.monotonic()
        try:
            uv_run(default_project, "pytest", "-q", env=env, timeout=300)
        finally:
            holder.kill()
        elapsed = time.monotonic() - started
    assert elapsed < 120, f"took {elapsed:.1f} s"
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'meta_template_test_template'"
    assert query(default_project, sql, env) == [[0]]


def test_a_killed_runs_unmarked_clone_is_dropped_and_a_look_alike_survives(
    default_project: Path,
) -> None:
    """A run killed between CREATE DATABASE and COMMENT leaves a clone without a comment, but
    with the mark its template carries inside: the next run drops it. What the suite cannot
    prove it made survives, even with a name like its own: a database made by hand whose name
    ends like a run's key, one with a run's name and a comment of someone else's."""
    env = project_env(database="meta_unmarked_test")
    uv_run(default_project, "pytest", "-q", "-k", "health", env=env)  # makes the template
    dead_run_key = hashlib.sha256(b"a run that was killed").hexdigest()[:8]
    unmarked_clone = f"meta_unmarked_test_gw0_{dead_run_key}"
    look_alike = "meta_unmarked_test_snap_20250101"
    not_ours = "meta_unmarked_test_not_ours"
    not_ours_with_a_run_name = f"meta_unmarked_test_gw1_{dead_run_key}"
    made = [unmarked_clone, look_alike, not_ours, not_ours_with_a_run_name]
    query(
        default_project,
        f'CREATE DATABASE "{unmarked_clone}" TEMPLATE meta_unmarked_test_template',
        env,
    )
    for name in made[1:]:
        query(default_project, f'CREATE DATABASE "{name}"', env)
    query(default_project, f"COMMENT ON DATABASE \"{not_ours_with_a_run_name}\" IS 'mine'", env)
    try:
        uv_run(default_project, "pytest", "-q", "-k", "health", env=env)

        remaining = databases_named(default_project, "meta_unmarked_test_", env)
        assert remaining == [
            not_ours_with_a_run_name,
            not_ours,
            look_alike,
            "meta_unmarked_test_template",
        ]
    finally:
        for name in made:
            query(default_project, f'DROP DATABASE IF EXISTS "{name}"', env)
