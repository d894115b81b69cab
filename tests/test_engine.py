"""The test engine, `template/pytest-pgengine/`: a package of its own, the same bytes in every
render, reached only through its public API, documented name by name, and passing its own
tests from the wheel it builds, with no service around it."""

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_pgengine
from pytest_pgengine.config import INI_OPTIONS

from tests.test_containers import docker_engine
from tests.variants import MATRIX
from tools.machine import container_env
from tools.projects import (
    REPO_ROOT,
    project_env,
    remove_server_homes,
    run,
    uv_run,
    zero_setup_env,
)

ENGINE = REPO_ROOT / "template" / "pytest-pgengine"
DEFAULT = "none-domain-docker-github"
# The service's own fixtures, in the default render: small enough to read in minutes.
MAX_FIXTURE_LINES = 500
PRIVATE_IMPORT = re.compile(r"\b(?:from|import)\s+pytest_pgengine\.\w")
TESTS_IMPORT = re.compile(r"^\s*(?:from|import)\s+tests\b", re.MULTILINE)
FIXTURE = re.compile(r"@pytest\.fixture\b[^\n]*\n(?:async )?def (\w+)")

MOCKER_TEST = """\
import os

from pytest_mock import MockerFixture


def test_a_fixture_of_an_installed_plugin(mocker: MockerFixture) -> None:
    mocker.patch.dict(os.environ, {"GREETING": "hello"})
    assert os.environ["GREETING"] == "hello"
"""

__all__ = ["docker_engine"]  # a fixture, for the container case below


def engine_files() -> dict[str, bytes]:
    """Every file of the engine that git would commit (no caches a run left), and its bytes."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], ENGINE)
    return {name: (ENGINE / name).read_bytes() for name in sorted(listed.output.splitlines())}


def rendered_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("variant", sorted(MATRIX))
def test_every_render_holds_the_engine_byte_for_byte(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    assert rendered_files(matrix_projects(variant) / "pytest-pgengine") == engine_files()


def test_the_engine_has_no_jinja() -> None:
    assert not list(ENGINE.rglob("*.jinja"))
    assert [name for name, text in engine_files().items() if b"{{" in text or b"{%" in text] == []


def test_a_default_render_keeps_the_machinery_out_of_the_teams_folders(
    matrix_projects: Callable[[str], Path],
) -> None:
    project = matrix_projects(DEFAULT)
    fixtures = project / "tests" / "fixtures"
    lines = {
        path.relative_to(project).as_posix(): len(path.read_text().splitlines())
        for path in fixtures.rglob("*.py")
    }
    team_code = [project / "dev.py", project / "seed.py", *(project / "src").rglob("*.py")]
    moved = ["models.py", "schemas.py", "repositories.py", "services.py"]

    assert sum(lines.values()) <= MAX_FIXTURE_LINES, lines
    assert not (fixtures / "servers").exists()
    assert [p.name for p in team_code if TESTS_IMPORT.search(p.read_text())] == []
    assert [name for name in moved if (project / "src" / "my_service" / name).exists()] == []
    assert not (fixtures / "provisioning.py").exists()
    assert not (project / "tests" / "test_moved_modules.py").exists()


def test_nothing_outside_the_engine_imports_its_private_modules() -> None:
    template = REPO_ROOT / "template"
    offending = [
        f"{path.relative_to(template)}: {match.group(0)}"
        for path in sorted(template.rglob("*"))
        if path.is_file() and ENGINE not in path.parents and "__pycache__" not in path.parts
        for match in PRIVATE_IMPORT.finditer(path.read_text(errors="replace"))
    ]
    assert offending == []


def test_the_engines_readme_names_every_public_name_fixture_and_setting() -> None:
    readme = (ENGINE / "README.md").read_text()
    sources = "\n".join(path.read_text() for path in (ENGINE / "src").rglob("*.py"))
    fixtures = FIXTURE.findall(sources)

    assert len(fixtures) >= 10  # the pattern finds them
    named = [*pytest_pgengine.__all__, *fixtures, *INI_OPTIONS]
    assert [name for name in named if f"`{name}" not in readme] == []
    # Every public name resolves, lazily imported or not.
    assert all(getattr(pytest_pgengine, name) is not None for name in pytest_pgengine.__all__)


def test_the_engine_passes_ruff_and_mypy_strict(tmp_path: Path) -> None:
    # Its own settings (its pyproject.toml), and no cache left in the template.
    tools = REPO_ROOT / ".venv" / "bin"
    run([str(tools / "ruff"), "format", "--no-cache", "--check", "."], ENGINE)
    run([str(tools / "ruff"), "check", "--no-cache", "."], ENGINE)
    run([str(tools / "mypy"), "--cache-dir", str(tmp_path)], ENGINE)


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine built as a published package would be (sdist and wheel), and its wheel
    installed in a fresh environment with pytest-xdist: the interpreter of that environment."""
    build = tmp_path_factory.mktemp("engine-build")
    # Built from a copy: the build leaves nothing in the template.
    source = build / "source"
    shutil.copytree(ENGINE, source, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    run(["uv", "build", "--quiet", "--out-dir", str(build / "dist"), str(source)], build)
    wheels = sorted((build / "dist").glob("pytest_pgengine-*.whl"))
    assert len(wheels) == 1
    assert len(list((build / "dist").glob("pytest_pgengine-*.tar.gz"))) == 1
    venv = build / "venv"
    run(["uv", "venv", "--quiet", str(venv)], build)
    python = venv / "bin" / "python"
    wheel = f"{wheels[0]}[docker]"
    run(["uv", "pip", "install", "--quiet", "--python", str(python), wheel, "pytest-xdist"], build)
    return python


def engine_tests(python: Path, *options: str, env: dict[str, str]) -> str:
    """The engine's own tests, run by `python`, from a copy of its tests and settings only: the
    package comes from the installed wheel."""
    where = python.parents[2] / "engine-tests"
    if not where.exists():
        where.mkdir()
        shutil.copy2(ENGINE / "pyproject.toml", where)
        shutil.copytree(ENGINE / "tests", where / "tests")
    found = run(
        [str(python), "-c", "import pytest_pgengine; print(pytest_pgengine.__file__)"], where
    )
    assert str(python.parents[1]) in found.output, "the engine came from elsewhere than the wheel"
    result = run([str(python), "-m", "pytest", "-p", "no:cacheprovider", *options], where, env=env)
    assert re.search(r"\b\d+ passed\b", result.output), result.tail()
    assert not re.search(r"\b\d+ (skipped|xfailed)\b", result.output), result.tail()
    return result.output


def test_the_wheel_passes_the_engines_tests_on_the_server_of_test_database_url(
    installed_wheel: Path,
) -> None:
    env = project_env(database="meta_engine_test")
    output = engine_tests(installed_wheel, "-v", env=env)
    assert "postgres: the server of TEST_DATABASE_URL" in output


def test_the_wheel_passes_the_engines_tests_on_the_embedded_server_with_xdist(
    installed_wheel: Path,
) -> None:
    env = project_env()
    env.pop("TEST_DATABASE_URL", None)
    where = installed_wheel.parents[2] / "engine-tests"
    try:
        output = engine_tests(installed_wheel, "-n", "2", env=env)
    finally:
        remove_server_homes(where)
    assert "postgres: the embedded server" in output


@pytest.mark.usefixtures("docker_engine")
def test_the_wheel_passes_the_engines_tests_in_a_container(installed_wheel: Path) -> None:
    env = container_env()
    output = engine_tests(installed_wheel, env=env)
    assert "postgres: a throwaway Docker container" in output


def test_a_plugin_the_team_installs_loads_with_no_other_edit(
    render_project: Callable[..., Path],
) -> None:
    project = render_project()
    run(["uv", "add", "--quiet", "--dev", "pytest-mock"], project)
    (project / "tests" / "unit" / "test_mocker.py").write_text(MOCKER_TEST)

    result = uv_run(project, "pytest", "-q", "tests/unit/test_mocker.py", env=zero_setup_env())

    assert re.search(r"\b1 passed\b", result.output), result.tail()
