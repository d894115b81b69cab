"""Each gated variant passes its own gate: format, lint, types, and its tests in every mode, on
the dependencies' lower bounds and on every Python the machine has."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import project_env, run, uv_run, zero_setup_env
from tests.variants import GATED, Gate

STATIC_CHECKS = {
    "format": ["ruff", "format", "--check", "."],
    "lint": ["ruff", "check", "."],
    "types": ["mypy", "--strict"],
}
# Every run is in random order (pytest-randomly); the stress tests add more orders and load.
TEST_RUNS = {
    "serial": ["-p", "randomly", "--randomly-seed=1"],
    "two-workers": ["-p", "randomly", "--randomly-seed=2", "-n", "2"],
}


@pytest.mark.parametrize("variant", GATED)
@pytest.mark.parametrize("check_name", STATIC_CHECKS)
def test_static_checks_pass(
    gated_projects: Callable[[str], Path], variant: str, check_name: str
) -> None:
    uv_run(gated_projects(variant), *STATIC_CHECKS[check_name])


@pytest.mark.parametrize("variant", GATED)
@pytest.mark.parametrize("run_name", TEST_RUNS)
def test_test_suite_passes(
    gated_projects: Callable[[str], Path], variant: str, run_name: str
) -> None:
    # As a user runs them right after `copier copy`: nothing set up, the embedded server.
    project = gated_projects(variant)

    result = uv_run(project, "pytest", "-q", *TEST_RUNS[run_name], env=zero_setup_env())

    assert " passed" in result.output
    assert " failed" not in result.output
    assert " error" not in result.output


# The hooks run the same checks as above; once per set of answers is enough.
ANSWER_VARIANTS = [name for name, gate in GATED.items() if gate == Gate(gate.answers)]


@pytest.mark.parametrize("variant", ANSWER_VARIANTS)
def test_pre_commit_hooks_pass_on_a_fresh_render(
    gated_projects: Callable[[str], Path], variant: str, tmp_path: Path
) -> None:
    project = gated_projects(variant)
    env = project_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit"))
    run(["git", "init", "--quiet"], project, env=env)
    run(["git", "add", "--all"], project, env=env)

    uv_run(project, "pre-commit", "run", "--all-files", env=env)
