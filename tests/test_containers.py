"""The container path (TEST_POSTGRES=docker): a throwaway container from testcontainers, on a
real Docker engine.

Where no engine answers these tests skip, except where one is expected (META_DOCKER=required:
.ci/run sets it once it has started one, as the template's CI does): there they fail, so that
a run that skipped them never passes for one that ran them. On a machine without a registry
the image is a stand-in built here (tools/postgres-image/build.sh), and Ryuk is off.
The refusal without an engine is tested in test_server_resolution.py.
"""

import functools
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.variants import GATED
from tools.machine import (
    container_env,
    docker_engine_answers,
    docker_volumes,
    labelled_containers,
    wait_for,
)
from tools.projects import UV_RUN, uv_run

# A test that holds its run (and its container) until told to go on, then uses the database.
WAIT_TEST = """
import asyncio
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_wait(db_session: AsyncSession) -> None:
    signals = Path(os.environ["SIGNALS"])
    (signals / "started").touch()
    for _ in range(1200):
        if (signals / "go").exists():
            break
        await asyncio.sleep(0.1)
    assert await db_session.scalar(text("SELECT 1")) == 1
"""


def started_or_ended(signal_file: Path, process: subprocess.Popen[str]) -> bool:
    return signal_file.exists() or process.poll() is not None


@pytest.fixture(scope="module")
def docker_engine() -> None:
    if docker_engine_answers():
        return
    if os.environ.get("META_DOCKER") == "required":
        pytest.fail("META_DOCKER=required, but no Docker engine answers (`docker info`)")
    pytest.skip("no Docker engine answers here (`docker info`)")


@pytest.fixture
def leaves_nothing(docker_engine: None) -> Iterator[None]:
    """Fail the test if it leaves a container of a test run, or a volume, behind."""
    containers, volumes = labelled_containers(), docker_volumes()
    yield
    assert labelled_containers() - containers == set(), "a container outlived its run"
    assert docker_volumes() - volumes == set(), "a volume outlived its container"


@pytest.mark.usefixtures("leaves_nothing")
@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
@pytest.mark.parametrize("variant", [name for name in ("default", "jwt") if name in GATED])
def test_a_throwaway_container_runs_the_whole_suite(
    gated_projects: Callable[[str], Path], variant: str, options: list[str]
) -> None:
    result = uv_run(gated_projects(variant), "pytest", "-v", *options, env=container_env())

    assert "postgres: a throwaway Docker container (postgres:18-alpine)" in result.output
    # The container has the one major (tests/test_postgres_major.py), or this test fails.
    version_test = "test_postgres_version.py::test_the_server_has_productions_major"
    assert [
        line for line in result.output.splitlines() if version_test in line and "PASSED" in line
    ]
    assert " passed" in result.output
    assert " skipped" not in result.output


@pytest.mark.usefixtures("leaves_nothing")
def test_the_next_run_removes_the_container_of_a_killed_run_and_spares_a_live_ones(
    default_project: Path, tmp_path: Path
) -> None:
    env = container_env(TESTCONTAINERS_RYUK_DISABLED="true")  # the cleanup without Ryuk
    test_file = default_project / "tests" / "integration" / "test_wait.py"
    command = [*UV_RUN, "pytest", "-q", "-p", "no:randomly", "-n", "2", str(test_file)]
    signals = {name: tmp_path / name for name in ("killed", "live")}
    for folder in signals.values():
        folder.mkdir()
    before = labelled_containers()
    test_file.write_text(WAIT_TEST)
    # Two live runs, each holding a container: one to kill, with all its processes (a session
    # of its own), and one to outlive the next run.
    runs = {
        name: subprocess.Popen(
            command,
            cwd=default_project,
            env=env | {"SIGNALS": str(folder)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for name, folder in signals.items()
    }
    try:
        for name, folder in signals.items():
            run_started = functools.partial(started_or_ended, folder / "started", runs[name])
            wait_for(run_started, 180)
            assert (folder / "started").exists(), f"{name}: {runs[name].communicate()[0]}"
        os.killpg(runs["killed"].pid, signal.SIGKILL)
        runs["killed"].communicate()
        left_by_the_kill = labelled_containers() - before

        uv_run(default_project, "pytest", "-q", "-k", "ready_checks_the_database", env=env)

        after_the_next_run = labelled_containers() - before
        (signals["live"] / "go").touch()
        live_output = runs["live"].communicate(timeout=120)[0]
    finally:
        for process in runs.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            if process.stdout and not process.stdout.closed:
                process.communicate()  # a pipe left open outlives the test, as a warning
        test_file.unlink()

    assert len(left_by_the_kill) == 2, "the killed run's container and the live run's"
    # One left: the live run's, which it used after the next run and removed at its end.
    assert len(after_the_next_run) == 1
    assert runs["live"].returncode == 0, live_output
    assert "1 passed" in live_output


@pytest.mark.usefixtures("leaves_nothing")
def test_ryuk_that_cannot_start_is_named_with_the_way_round_it(default_project: Path) -> None:
    env = container_env(
        TESTCONTAINERS_RYUK_DISABLED="false", RYUK_CONTAINER_IMAGE="localhost/no-such-ryuk:1"
    )

    result = uv_run(default_project, "pytest", "-q", "-k", "health", env=env, check=False)

    assert result.returncode == 4, result.output  # pytest's usage error
    assert "the Docker engine did not start postgres:18-alpine" in result.output
    assert "testcontainers starts Ryuk (localhost/no-such-ryuk:1) first" in result.output
    assert "set TESTCONTAINERS_RYUK_DISABLED=true" in result.output
