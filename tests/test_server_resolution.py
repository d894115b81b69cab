"""How the generated suite finds its PostgreSQL server when TEST_DATABASE_URL is not set.

Docker comes before a local server. Where no Docker engine runs (as on the template's own CI
machine), these tests cover the two paths that remain: the refusal that names the three ways
(as root, which initdb refuses) and a throwaway local server (as an unprivileged user).
"""

import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import check, project_env, render, run, sync

UNPRIVILEGED_USER = "template-tests"
NO_SERVER_MESSAGE = "No PostgreSQL server for the tests. Provide one of:"


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


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
def unprivileged_user() -> str:
    """A user other than root, who may run initdb (created if missing; needs root)."""
    if os.geteuid() != 0:
        pytest.skip("creating the unprivileged user needs root")
    exists = subprocess.run(["id", UNPRIVILEGED_USER], capture_output=True, check=False)
    if exists.returncode != 0:
        check(["useradd", "--system", "--no-create-home", UNPRIVILEGED_USER], Path.cwd())
    return UNPRIVILEGED_USER


@pytest.fixture
def shared_project(template: Path) -> Iterator[Path]:
    """A rendered, installed project that other users can read (pytest's tmp_path is private)."""
    project = Path(tempfile.mkdtemp(prefix="local-server-"))
    try:
        sync(render(template, project / "my-service"))
        for path in [project, *project.rglob("*")]:
            readable = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
            path.chmod(path.stat().st_mode | readable)
        yield project / "my-service"
    finally:
        shutil.rmtree(project, ignore_errors=True)


@pytest.fixture
def readable_interpreter(shared_project: Path) -> Iterator[None]:
    """Let other users reach the project's interpreter (on some machines it lives in /root).

    Grants traverse permission (o+x) on the directories that lack it, for this test only.
    """
    interpreter = (shared_project / ".venv" / "bin" / "python").resolve()
    changed = []
    for directory in reversed(interpreter.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
            changed.append((directory, mode))
    yield
    for directory, mode in changed:
        directory.chmod(mode)


@needs_no_docker
@pytest.mark.usefixtures("readable_interpreter")
@pytest.mark.parametrize(
    "options", [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="n2")]
)
def test_a_throwaway_local_server_runs_the_whole_suite(
    shared_project: Path, unprivileged_user: str, options: list[str]
) -> None:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    runuser = shutil.which("runuser")
    assert runuser is not None, "runuser (util-linux) is needed to run as another user"
    command = [runuser, "-u", unprivileged_user, "--", ".venv/bin/python", "-m", "pytest"]

    result = run([*command, "-q", "-p", "no:cacheprovider", *options], shared_project, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert processes_of(unprivileged_user, wait=10) == [], "the throwaway server outlived the run"


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
