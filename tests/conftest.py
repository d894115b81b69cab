import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_pgengine import Project, ServerUnavailable
from pytest_pgengine.servers.local import LocalServer

from tests.variants import GATED, MATRIX
from tools.pgbouncer import MISSING, pgbouncer_program, running_pgbouncer
from tools.projects import (
    REPO_ROOT,
    find_python,
    remove_server_homes,
    render,
    snapshot_template,
    sync,
)


@pytest.fixture(scope="session", autouse=True)
def meta_server() -> Iterator[None]:
    """The server the meta suite's projects run on, when a test sets none: TEST_DATABASE_URL,
    or else an embedded server of the meta suite's own: the projects' own kind, run by their
    own code (the template's test engine, pytest-pgengine)."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield
        return
    try:
        server = LocalServer.embedded(Project.at(REPO_ROOT, "meta_test"))
    except ServerUnavailable as exc:
        pytest.exit(f"Set TEST_DATABASE_URL: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    url = server.start("meta_test")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_DATABASE_URL", url.render_as_string(hide_password=False))
        try:
            yield
        finally:
            server.stop()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def matrix_projects(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """Render each variant of MATRIX once, on first use, for tests that only read it (a test
    that changes its project renders one of its own)."""
    projects: dict[str, Path] = {}

    def get(variant: str) -> Path:
        if variant not in projects:
            destination = tmp_path_factory.mktemp(variant) / "my-service"
            projects[variant] = render(template, destination, **MATRIX[variant])
        return projects[variant]

    return get


@pytest.fixture(scope="session")
def gated_projects(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Path]]:
    """Render and install each gated variant once, on first use."""
    projects: dict[str, Path] = {}

    def get(variant: str) -> Path:
        if variant not in projects:
            gate = GATED[variant]
            options = ["--resolution", gate.resolution]
            if gate.python:
                interpreter = find_python(gate.python)
                if interpreter is None:
                    pytest.skip(f"no Python {gate.python} on this machine (uv, pyenv)")
                options += ["--python", interpreter]
            destination = tmp_path_factory.mktemp(variant) / "my-service"
            projects[variant] = sync(render(template, destination, **gate.answers), *options)
        return projects[variant]

    yield get
    for project in projects.values():
        remove_server_homes(project)


@pytest.fixture(scope="session")
def default_project(gated_projects: Callable[[str], Path]) -> Path:
    return gated_projects("default")


@pytest.fixture
def render_project(template: Path, tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Render (and install) a project of its own for a test that changes it."""
    project = tmp_path / "project"

    def make(**answers: Any) -> Path:
        return sync(render(template, project, **answers))

    yield make
    remove_server_homes(project)


@pytest.fixture
def pgbouncer(tmp_path: Path) -> Iterator[int]:
    """A new PgBouncer in transaction mode in front of the meta suite's server (no statement of
    an earlier test on its connections): its port (tools/pgbouncer.py). Where pgbouncer is
    missing the test skips, saying why, except where it is expected (META_PGBOUNCER=required,
    as `.ci/run` sets): there it fails."""
    program = pgbouncer_program()
    if program is None:
        if os.environ.get("META_PGBOUNCER") == "required":
            pytest.fail(f"META_PGBOUNCER=required, but {MISSING}")
        pytest.skip(MISSING)
    with running_pgbouncer(program, tmp_path) as port:
        yield port
