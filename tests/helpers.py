"""Rendering the template and running commands in the rendered project."""

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import copier

REPO_ROOT = Path(__file__).resolve().parents[1]


def snapshot_template(destination: Path) -> Path:
    """Copy the working tree's template (questions and files) to `destination`.

    Rendering from a plain copy renders exactly what is on disk, committed or not, without
    Copier's warning about a dirty git repository.
    """
    shutil.copy2(REPO_ROOT / "copier.yml", destination / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", destination / "template")
    return destination


def render(template: Path, destination: Path, **answers: Any) -> Path:
    copier.run_copy(
        str(template), destination, data=answers, defaults=True, quiet=True, unsafe=False
    )
    return destination


def template_local_server() -> ModuleType:
    """The template's local server module (template/tests/fixtures/servers/local.py).

    The meta suite runs its projects on the same kind of server they would start themselves,
    and finds where they keep it.
    """
    name = "template_servers"
    package = REPO_ROOT / "template" / "tests" / "fixtures" / "servers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, package / "__init__.py", submodule_search_locations=[str(package)]
        )
        assert spec is not None
        assert spec.loader is not None
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.local")


# Where no Docker engine may answer: the embedded server must not depend on one.
NO_DOCKER = "unix:///nonexistent/docker.sock"


def zero_setup_env(**overrides: str) -> dict[str, str]:
    """The environment of a user who set nothing up: no TEST_DATABASE_URL, no Docker."""
    env = project_env()
    for name in ("TEST_DATABASE_URL", "TEST_POSTGRES"):
        env.pop(name, None)
    return env | {"DOCKER_HOST": NO_DOCKER, **overrides}


def project_env(database: str = "meta_test", **overrides: str) -> dict[str, str]:
    """The environment for a generated project's commands, on the meta suite's server.

    `database` names the project's test databases on the server of TEST_DATABASE_URL, so that
    projects tested side by side never share one.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    # Bytecode is compiled at install and cached as usual: where PYTHONDONTWRITEBYTECODE is
    # set (as on some CI machines), every run would compile its imports again, and pytest
    # would rewrite the asserts of every plugin's modules again: seconds per run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(UV_PYTHON_DOWNLOADS="never", UV_COMPILE_BYTECODE="1")
    if url := env.get("TEST_DATABASE_URL"):
        env["TEST_DATABASE_URL"] = urlsplit(url)._replace(path=f"/{database}").geturl()
    env.update(overrides)
    return env


def run(
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=env if env is not None else project_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check(command: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `command` and fail with its output unless it exits 0."""
    result = run(command, cwd, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-8000:]}\n--- stderr\n{result.stderr[-8000:]}"
    )
    return result


def sync(project: Path) -> Path:
    """Install the generated project's environment (dependencies from the shared uv cache)."""
    check(["uv", "sync", "--quiet"], project)
    return project


QUERY_SCRIPT = """
import asyncio, json, sys
import asyncpg

async def main():
    connection = await asyncpg.connect(sys.argv[1])
    try:
        rows = await connection.fetch(sys.argv[2])
    finally:
        await connection.close()
    print(json.dumps([list(row.values()) for row in rows]))

asyncio.run(main())
"""


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def database_url(env: dict[str, str], database: str, scheme: str | None = None) -> str:
    """The URL of `database` on the server of the environment's TEST_DATABASE_URL."""
    url = urlsplit(env["TEST_DATABASE_URL"])
    return url._replace(scheme=scheme or url.scheme, path=f"/{database}").geturl()


def driver_dsn(env: dict[str, str], database: str) -> str:
    """A plain asyncpg DSN for `database` on the server of the environment's TEST_DATABASE_URL."""
    return database_url(env, database, scheme="postgresql")


def query(project: Path, sql: str, env: dict[str, str]) -> list[list[Any]]:
    """Rows of `sql` on the maintenance database of the test server, with the project's driver."""
    dsn = driver_dsn(env, "postgres")
    result = check([".venv/bin/python", "-c", QUERY_SCRIPT, dsn, sql], project, env=env)
    rows: list[list[Any]] = json.loads(result.stdout)
    return rows


def databases_named(project: Path, prefix: str, env: dict[str, str]) -> list[str]:
    sql = f"SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}') ORDER BY 1"
    return [row[0] for row in query(project, sql, env)]


def connections_to_databases_named(project: Path, prefix: str, env: dict[str, str]) -> int:
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE starts_with(datname, '{prefix}')"
    return int(query(project, sql, env)[0][0])


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


# initdb refuses to run as root: a throwaway local server needs a user of its own.
UNPRIVILEGED_USER = "template-tests"
UNPRIVILEGED_CACHE = Path(tempfile.gettempdir()) / "template-tests-cache"


def unprivileged_user() -> str:
    """A user other than root, who may run initdb (created if missing; needs root)."""
    exists = subprocess.run(["id", UNPRIVILEGED_USER], capture_output=True, check=False)
    if exists.returncode != 0:
        check(["useradd", "--system", "--no-create-home", UNPRIVILEGED_USER], Path.cwd())
    return UNPRIVILEGED_USER


def as_user(user: str, command: list[str]) -> list[str]:
    """`command`, run as `user`, with a minimal environment (see unprivileged_env)."""
    runuser = shutil.which("runuser")
    assert runuser is not None, "runuser (util-linux) is needed to run as another user"
    return [runuser, "-u", user, "--", *command]


def unprivileged_env(**overrides: str) -> dict[str, str]:
    """An environment for another user: no TEST_DATABASE_URL, nothing of root's.

    Its cache (where the embedded server keeps its data) is under UNPRIVILEGED_CACHE.
    """
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "XDG_CACHE_HOME": str(UNPRIVILEGED_CACHE),
        "DOCKER_HOST": NO_DOCKER,
        **overrides,
    }


def server_homes(project: Path) -> list[Path]:
    """The folders where local servers keep data for `project`, as root and as the user."""
    home = template_local_server().server_home("*", project)
    return [*home.parent.glob(home.name), *(UNPRIVILEGED_CACHE / "pytest-postgres").glob(home.name)]


def remove_server_homes(project: Path) -> None:
    for home in server_homes(project):
        shutil.rmtree(home, ignore_errors=True)


def server_processes(project: Path, wait: float = 10) -> list[str]:
    """The live servers of `project` (found by their data folder) after up to `wait` seconds:
    a server's last processes exit a moment after `pg_ctl stop` returns. Zombies are left out:
    dead, they only wait for a parent (in a container without an init, nobody reaps them)."""
    home_name = template_local_server().server_home("", project).name
    deadline = time.monotonic() + wait
    while True:
        found = subprocess.run(
            ["ps", "-eo", "stat=,args="], capture_output=True, text=True, check=False
        )
        alive = [
            line
            for line in found.stdout.splitlines()
            if home_name in line and not line.lstrip().startswith("Z")
        ]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@contextmanager
def readable_by_others(project: Path) -> Iterator[None]:
    """Let other users read `project` and run its interpreter, until the block ends.

    Grants read on the project, and traverse (o+x) on the directories above it and above its
    interpreter that lack it (on some machines the interpreter lives in /root); the modes of
    those directories are restored afterwards.
    """
    for path in [project, *project.rglob("*")]:
        readable = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        path.chmod(path.stat().st_mode | readable)
    interpreter = (project / ".venv" / "bin" / "python").resolve()
    changed = []
    for directory in dict.fromkeys([*project.parents, *interpreter.parents]):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
            changed.append((directory, mode))
    try:
        yield
    finally:
        for directory, mode in changed:
            directory.chmod(mode)
