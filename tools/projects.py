"""Rendering the template, and running commands in the rendered projects.

Shared by the meta suite (tests/) and the benchmarks (bench/).
"""

import importlib.util
import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import copier

# The generated projects' own server code (a package the template renders as it is).
from pytest_pgengine.servers.local import server_home

REPO_ROOT = Path(__file__).resolve().parents[1]
# A command in a rendered project's installed environment, as it is: never synced again.
UV_RUN = ["uv", "run", "--no-sync"]
# How much of a failed command's output its assertion message shows.
TAIL_LINES = 100


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


# Where no Docker engine may answer: the embedded server must not depend on one.
NO_DOCKER = "unix:///nonexistent/docker.sock"


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


def zero_setup_env(**overrides: str) -> dict[str, str]:
    """The environment of a user who set nothing up: no TEST_DATABASE_URL, no Docker."""
    env = project_env()
    for name in ("TEST_DATABASE_URL", "TEST_POSTGRES"):
        env.pop(name, None)
    return env | {"DOCKER_HOST": NO_DOCKER, **overrides}


@dataclass(frozen=True)
class Result:
    """A finished command: its exit code, and its stdout and stderr in one string, in the
    order it wrote them."""

    command: list[str]
    returncode: int
    output: str

    def tail(self, lines: int = TAIL_LINES) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run(
    command: Sequence[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    input: str | None = None,
    check: bool = True,
) -> Result:
    """Run `command` in `cwd`, in `env` (by default project_env()).

    With `check`, fail unless it exits 0; a command that outlives `timeout` seconds fails
    either way. The message names the command, its exit code and its last lines of output.
    """
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            env=env if env is not None else project_env(),
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        # What it wrote until then, as bytes (subprocess decodes only a finished command's).
        written = exc.output if isinstance(exc.output, bytes) else b""
        timed_out = Result(list(command), -1, written.decode(errors="replace"))
        raise AssertionError(failure(timed_out, cwd, f"timed out after {timeout:g} s")) from None
    result = Result(list(command), completed.returncode, completed.stdout)
    if check and result.returncode != 0:
        raise AssertionError(failure(result, cwd, f"exited {result.returncode}"))
    return result


def failure(result: Result, cwd: Path, what: str) -> str:
    return f"`{shlex.join(result.command)}` in {cwd} {what}; its last lines:\n{result.tail()}"


def uv_run(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> Result:
    """`uv run --no-sync <args>` in `project` (see run)."""
    return run([*UV_RUN, *args], project, env=env, timeout=timeout, check=check)


def sync(project: Path, *options: str) -> Path:
    """Install the generated project's environment (dependencies from the shared uv cache);
    `options` go to `uv sync` (`--python`, `--resolution`)."""
    run(["uv", "sync", "--quiet", *options], project)
    return project


def find_python(version: str) -> str | None:
    """An interpreter of Python `version` on this machine: one uv finds (on PATH, as CI's
    setup-python puts them), or else pyenv's; None when there is none."""
    found = run(["uv", "python", "find", version], Path.cwd(), check=False)
    if found.returncode == 0:
        return found.tail(1)
    if shutil.which("pyenv"):
        prefix = run(["pyenv", "prefix", version], Path.cwd(), check=False)
        if prefix.returncode == 0:
            return str(Path(prefix.tail(1)) / "bin" / f"python{version}")
    return None


# Prints the rows as JSON, on the last line of its output.
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


def database_url(env: dict[str, str], database: str, scheme: str | None = None) -> str:
    """The URL of `database` on the server of the environment's TEST_DATABASE_URL."""
    url = urlsplit(env["TEST_DATABASE_URL"])
    return url._replace(scheme=scheme or url.scheme, path=f"/{database}").geturl()


def driver_dsn(env: dict[str, str], database: str) -> str:
    """A plain asyncpg DSN for `database` on the server of the environment's TEST_DATABASE_URL."""
    return database_url(env, database, scheme="postgresql")


def query(
    project: Path, sql: str, env: dict[str, str], database: str = "postgres"
) -> list[list[Any]]:
    """Rows of `sql` on `database` (by default the maintenance one) of the test server, with
    the project's driver."""
    dsn = driver_dsn(env, database)
    result = run([".venv/bin/python", "-c", QUERY_SCRIPT, dsn, sql], project, env=env)
    try:
        rows: list[list[Any]] = json.loads(result.tail(1))
    except json.JSONDecodeError:
        raise AssertionError(f"no rows on the last line of:\n{result.tail()}") from None
    return rows


def databases_named(project: Path, prefix: str, env: dict[str, str]) -> list[str]:
    sql = f"SELECT datname FROM pg_database WHERE starts_with(datname, '{prefix}') ORDER BY 1"
    return [row[0] for row in query(project, sql, env)]


def connections_to_databases_named(project: Path, prefix: str, env: dict[str, str]) -> int:
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE starts_with(datname, '{prefix}')"
    return int(query(project, sql, env)[0][0])


# initdb refuses to run as root: the meta suite runs some servers as a user of its own, who
# keeps their data here.
UNPRIVILEGED_CACHE = Path(tempfile.gettempdir()) / "template-tests-cache"


def server_homes(project: Path) -> list[Path]:
    """The folders where local servers keep data for `project`, as root and as the user."""
    home = server_home("*", project)
    return [*home.parent.glob(home.name), *(UNPRIVILEGED_CACHE / "pytest-postgres").glob(home.name)]


def remove_server_homes(project: Path) -> None:
    for home in server_homes(project):
        shutil.rmtree(home, ignore_errors=True)


def load_moved_modules(project: Path) -> ModuleType:
    """A project's tests/test_moved_modules.py, as an update renders it."""
    path = project / "tests" / "test_moved_modules.py"
    spec = importlib.util.spec_from_file_location("moved_modules", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def new_database(project: Path, prefix: str) -> Iterator[str]:
    """A new, empty database `<prefix>_<random>` on the meta suite's server, for the block; its
    name."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    env = project_env()
    query(project, f"CREATE DATABASE {name}", env)
    try:
        yield name
    finally:
        query(project, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", env)
