"""`copier update` across the move of the test machinery from `tests/fixtures/` into the test
engine (`pytest-pgengine/`), on services generated from main before it (b9eace9) that grew.

A team that never touched the machinery gets no conflict in it: each old module becomes a note,
and the suite passes. (The list of fixture modules in tests/conftest.py, which both the team and
the template changed, is resolved by hand, as any conflict of a team's line.) A team that
changed a module that moved finds its lines there, between conflict markers, and the generated
suite names the file until they have moved. The team's own fixtures and tests are untouched.
"""

import re
from pathlib import Path

import copier
import pytest

from tests.test_update import assert_no_conflicts, commit_all, git, release_template, update
from tests.test_update_grown_project import OWN_SEED, edit
from tools.projects import project_env, snapshot_template, sync, uv_run

BEFORE = "b9eace9"  # main before the engine became a package of its own
OWN_FIXTURE = """\
import pytest


@pytest.fixture
def greeting() -> str:
    return "hello"
"""
OWN_TEST = """\
def test_the_teams_fixture(greeting: str) -> None:
    assert greeting == "hello"
"""
OWN_PLUGIN = 'pytest_plugins = [\n    "tests.fixtures.greetings",\n'
# A team's change to a module that moved: a longer timeout for its slow CI server.
OWN_TIMEOUT = "CONNECT_TIMEOUT = 30  # ours: the CI server is slow to answer"


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as main had it before the move (tag `before`), then the working tree."""
    repo = release_template(BEFORE, tmp_path_factory.mktemp("template-repo"))
    git("init", "--quiet", cwd=repo)
    commit_all(repo, "Before the move", tag="before")
    (repo / "copier.yml").unlink()
    git("rm", "-r", "--quiet", "template", cwd=repo)
    snapshot_template(repo)
    commit_all(repo, "The working tree", tag="after")
    return repo


def grown_service(template_repo: Path, project: Path) -> Path:
    """A service generated before the move, with fixtures, tests and a seed of the team's own."""
    copier.run_copy(str(template_repo), project, vcs_ref="before", defaults=True, quiet=True)
    git("init", "--quiet", cwd=project)
    sync(project)
    fixtures = project / "tests" / "fixtures"
    (fixtures / "greetings.py").write_text(OWN_FIXTURE)
    edit(project / "tests" / "conftest.py", "pytest_plugins = [\n", OWN_PLUGIN)
    (project / "tests" / "unit" / "test_greetings.py").write_text(OWN_TEST)
    edit(fixtures / "factories.py", "SEED = 1234", OWN_SEED)
    commit_all(project, "Generated, and grown")
    return project


def conflicted(project: Path) -> list[str]:
    return git("diff", "--name-only", "--diff-filter=U", cwd=project).split()


def resolve_the_plugin_list(project: Path) -> None:
    """As a team would: the template's list of fixture modules, with the team's added back."""
    git("checkout", "--theirs", "--", "tests/conftest.py", cwd=project)
    edit(project / "tests" / "conftest.py", "pytest_plugins = [\n", OWN_PLUGIN)


def test_a_team_that_never_touched_the_machinery_updates_without_conflict(
    template_repo: Path, tmp_path: Path
) -> None:
    project = grown_service(template_repo, tmp_path / "service")

    update(project, "after")

    assert conflicted(project) == ["tests/conftest.py"]
    resolve_the_plugin_list(project)
    assert_no_conflicts(project)
    fixtures = project / "tests" / "fixtures"
    assert "Moved into the test engine" in (fixtures / "janitor.py").read_text()
    assert (fixtures / "greetings.py").read_text() == OWN_FIXTURE
    assert OWN_SEED in (fixtures / "factories.py").read_text()
    assert '"tests.fixtures.greetings",' in (project / "tests" / "conftest.py").read_text()
    sync(project)
    env = project_env(database="meta_engine_move_test")
    result = uv_run(project, "pytest", "-q", env=env)
    assert re.search(r"\d+ passed", result.output), result.tail()
    uv_run(project, "ruff", "check", ".", env=env)
    uv_run(project, "mypy", env=env)


def test_a_teams_change_to_a_moved_module_is_kept_and_named(
    template_repo: Path, tmp_path: Path
) -> None:
    project = grown_service(template_repo, tmp_path / "service")
    connections = project / "tests" / "fixtures" / "connections.py"
    edit(connections, "CONNECT_TIMEOUT = 5", OWN_TIMEOUT)
    commit_all(project, "A longer timeout")

    update(project, "after")

    assert conflicted(project) == ["tests/conftest.py", "tests/fixtures/connections.py"]
    resolve_the_plugin_list(project)
    assert OWN_TIMEOUT in connections.read_text()
    assert re.search(r"^<<<<<<< ", connections.read_text(), re.MULTILINE)
    sync(project)
    env = project_env(database="meta_engine_move_test")
    failed = uv_run(project, "pytest", "-q", "tests/test_moved_modules.py", env=env, check=False)
    assert failed.returncode == 1, failed.tail()
    assert "tests/fixtures/connections.py holds conflict markers" in failed.output
    assert "move yours to the test engine (pytest-pgengine/)" in failed.output
    # Resolved as the note says: the setting carried over (here: dropped), the file deleted.
    git("rm", "--quiet", "--force", "--", "tests/fixtures/connections.py", cwd=project)
    uv_run(project, "pytest", "-q", "tests/test_moved_modules.py", env=env)
