"""A generated project's test suite and a connection pooler: with TEST_DATABASE_URL naming
PgBouncer (transaction mode, in front of the meta suite's server) the run stops within seconds,
saying to point it at the PostgreSQL server itself, and makes nothing on the server, whether
the migrated template is there to clone or not; the same suite on the server itself passes.

Through a pooler the suite used to fail at once (`ALTER DATABASE ... RENAME ... is being
accessed by other users`), leaving its staging template behind, and its run lock would be held
for whichever client shares the server's session next.

PgBouncer comes from the `pgbouncer` fixture (tests/conftest.py): where it is missing the test
skips, saying why, except where META_PGBOUNCER=required.
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.projects import Result, databases_named, project_env, query, uv_run

BASE = "meta_pooler_test"
REFUSAL = "is a connection pooler (such as PgBouncer), not the PostgreSQL server"
ADVICE = "Point TEST_DATABASE_URL at the PostgreSQL server itself"
# Seconds: pytest's start and one connection, on a busy machine.
WITHIN = 20


@pytest.fixture
def server_env(default_project: Path) -> Iterator[dict[str, str]]:
    """The project's environment on the meta suite's server itself; whatever the runs made there
    is dropped afterwards."""
    env = project_env(BASE)
    yield env
    for name in databases_named(default_project, BASE, env):
        query(default_project, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", env)


def run_through(project: Path, pgbouncer: int, *options: str) -> tuple[Result, float]:
    """The project's tests with TEST_DATABASE_URL on the pooler's port; the run, and its
    seconds."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{pgbouncer}/{BASE}"
    env = project_env(BASE, TEST_DATABASE_URL=url)
    started = time.monotonic()
    result = uv_run(project, "pytest", "-q", *options, env=env, timeout=120, check=False)
    return result, time.monotonic() - started


def assert_refused(result: Result, seconds: float) -> None:
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.tail()
    assert REFUSAL in result.output, result.tail()
    assert ADVICE in result.output, result.tail()
    assert seconds < WITHIN, result.tail()


def test_the_suite_refuses_a_pooler_and_makes_nothing_on_the_server(
    default_project: Path, pgbouncer: int, server_env: dict[str, str]
) -> None:
    for options in ([], ["-n", "2"]):
        assert_refused(*run_through(default_project, pgbouncer, *options))
        assert databases_named(default_project, BASE, server_env) == []

    # The same suite on the server itself passes: the refusal is the pooler's. It leaves the
    # migrated template, to be cloned by the next run.
    passed = uv_run(default_project, "pytest", "-q", "-n", "2", env=server_env)
    assert re.search(r"\b\d+ passed\b", passed.output), passed.tail()
    assert databases_named(default_project, BASE, server_env) == [f"{BASE}_template"]

    # With a template to clone, a run through the pooler still makes no database of its own.
    assert_refused(*run_through(default_project, pgbouncer))
    assert databases_named(default_project, BASE, server_env) == [f"{BASE}_template"]
