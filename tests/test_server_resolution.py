"""How the generated suite finds its PostgreSQL server when TEST_DATABASE_URL is not set.

Docker comes before a local server. Where no Docker engine runs (as on the template's own CI
machine), these tests cover the two paths that remain: the refusal that names the three ways
(as root, which initdb refuses) and a throwaway local server (as an unprivileged user).
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    as_user,
    docker_engine_answers,
    project_env,
    readable_by_others,
    render,
    run,
    sync,
    unprivileged_env,
    unprivileged_user,
)

NO_SERVER_MESSAGE = "No PostgreSQL server for the tests. Provide one of:"


HAS_DOCKER = docker_engine_answers()
needs_no_docker = pytest.mark.skipif(
    HAS_DOCKER, reason="a Docker engine answers: the container path comes first"
)


def env_without_database_url() -> dict[str, str]:
    env = project_env()
    env.pop("TEST_DATABASE_URL", None)
    return env


def test_refuses_a_database_not_named_for_tests(default_project: Path) -> None:
    env = project_env(TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")

    result = run(["uv", "run", "--no-sync", "pytest", "tests/integration"], default_project, env)

    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    assert "only use a database whose name contains" in result.stdout + result.stderr


@needs_no_docker
@pytest.mark.skipif(os.geteuid() != 0, reason="only root is refused a local server")
@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
def test_without_a_server_the_run_stops_at_once_naming_the_three_ways(
    default_project: Path, options: list[str]
) -> None:
    command = ["uv", "run", "--no-sync", "pytest", *options]
    started = time.monotonic()
    result = run(command, default_project, env_without_database_url())
    elapsed = time.monotonic() - started

    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert NO_SERVER_MESSAGE in output
    for way in ("TEST_DATABASE_URL=", "Docker engine", "(initdb, pg_ctl)"):
        assert way in output
    assert "initdb refuses to run as root" in output
    # Generous for a loaded machine; a hang would run into the subprocess timeout instead.
    assert elapsed < 30, f"took {elapsed:.1f} s"


@pytest.fixture
def shared_project(template: Path) -> Iterator[Path]:
    """A rendered, installed project that an unprivileged user can run (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("creating the unprivileged user needs root")
    project = Path(tempfile.mkdtemp(prefix="local-server-"))
    try:
        sync(render(template, project / "my-service"))
        with readable_by_others(project / "my-service"):
            yield project / "my-service"
    finally:
        shutil.rmtree(project, ignore_errors=True)


@needs_no_docker
@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
def test_a_throwaway_local_server_runs_the_whole_suite(
    shared_project: Path, options: list[str]
) -> None:
    user = unprivileged_user()
    command = [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *options]

    result = run(as_user(user, command), shared_project, unprivileged_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert processes_of(user, wait=10) == [], "the throwaway server outlived the run"


def processes_of(user: str, wait: float) -> list[str]:
    """The user's processes still alive after up to `wait` seconds (a server's children exit
    a moment after `pg_ctl stop` returns)."""
    deadline = time.monotonic() + wait
    while True:
        found = subprocess.run(["ps", "-o", "args=", "-u", user], capture_output=True, text=True)
        if not found.stdout.strip() or time.monotonic() > deadline:
            return found.stdout.splitlines()
        time.sleep(0.2)


@pytest.mark.skipif(not HAS_DOCKER, reason="no Docker engine on this machine")
def test_a_throwaway_container_runs_the_whole_suite(default_project: Path) -> None:
    command = ["uv", "run", "--no-sync", "pytest", "-q", "-n", "2"]

    result = run(command, default_project, env_without_database_url())

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
