"""The thread that starts the server and makes the database while pytest imports the tests
(background_start.py) imports no module of its own.

Two threads importing modules at once can break both imports: CPython's per-module import locks,
taken in opposite orders by the two threads, raise a KeyError or an ImportError out of one of them
(python/cpython#83065). A CI run saw it: the start's thread imported Alembic to build the template
while the main thread imported it for the migration tests, and every database test of that worker
failed with "KeyError: 'alembic.util.compat'". The race needs both imports to meet in the same
milliseconds, so it is tested here by what makes it possible at all: any module the start's
thread is first to load.
"""

from pathlib import Path

import pytest

from tools.projects import databases_named, project_env, query, uv_run, zero_setup_env

# A pytest plugin, loaded before the project's own: each process of the run writes, to a file of
# its own, the modules that its start's thread loaded. The import system asks the finders on
# sys.meta_path only for a module that is not loaded yet; this one, asked first, records and passes.
RECORDER = """
import os
import sys
import threading
from pathlib import Path

loaded = []


class Recorder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if threading.current_thread().name == "postgres-startup":
            loaded.append(name)


sys.meta_path.insert(0, Recorder)


def pytest_unconfigure(config):
    folder = Path(os.environ["START_THREAD_IMPORTS"])
    (folder / f"{os.getpid()}.txt").write_text("\\n".join(sorted(set(loaded))))
"""


def loaded_by_start_threads(
    project: Path, tmp_path: Path, env: dict[str, str], *options: str
) -> list[list[str]]:
    """Run the project's tests; for each of its processes, what its start's thread loaded."""
    (tmp_path / "start_thread_imports.py").write_text(RECORDER)
    records = tmp_path / "records"
    records.mkdir()
    env = env | {"PYTHONPATH": str(tmp_path), "START_THREAD_IMPORTS": str(records)}
    uv_run(project, "pytest", "-p", "start_thread_imports", "-q", *options, env=env)
    return [path.read_text().split() for path in sorted(records.iterdir())]


def drop_databases(project: Path, env: dict[str, str], prefix: str) -> None:
    """Drop the databases named `prefix...`, the template among them: the next run builds it."""
    for name in databases_named(project, prefix, env):
        query(project, f'DROP DATABASE "{name}"', env)


@pytest.mark.parametrize("options", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_start_thread_loads_no_module_while_the_template_is_built(
    default_project: Path, tmp_path: Path, options: list[str]
) -> None:
    database = f"meta_start_thread_{len(options)}_test"
    env = project_env(database=database)
    drop_databases(default_project, env, database)
    try:
        loaded = loaded_by_start_threads(default_project, tmp_path, env, *options)
    finally:
        drop_databases(default_project, env, database)
    # The run's process, or xdist's controller and its two workers.
    assert len(loaded) == (3 if options else 1)
    assert loaded == [[]] * len(loaded), f"loaded by the start's thread: {loaded}"


def test_the_start_thread_loads_no_module_while_the_embedded_server_starts(
    default_project: Path, tmp_path: Path
) -> None:
    loaded = loaded_by_start_threads(default_project, tmp_path, zero_setup_env(), "tests/unit")
    assert loaded == [[]], f"loaded by the start's thread: {loaded}"
