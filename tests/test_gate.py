"""Each gated variant passes its own gate: format, lint, types, and its tests in every mode, on
the dependencies' lower bounds and on every Python the machine has; its tests' coverage meets
its floor, serially and with xdist alike."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.variants import GATED, Gate
from tools.projects import Result, project_env, run, uv_run, zero_setup_env

STATIC_CHECKS = {
    "format": ["ruff", "format", "--check", "."],
    "lint": ["ruff", "check", "."],
    "types": ["mypy", "--strict"],
}
# Every run is in random order (pytest-randomly); the stress tests add more orders and load.
# Each measures coverage, as CI does.
TEST_RUNS = {
    "serial": ["-p", "randomly", "--randomly-seed=1"],
    "two-workers": ["-p", "randomly", "--randomly-seed=2", "-n", "2"],
}
# pytest-cov's verdict on the floor (fail_under in the project's pyproject.toml).
COVERAGE_VERDICT = re.compile(
    r"Required test coverage of (?P<floor>[\d.]+)% (?P<verdict>reached|not reached)\. "
    r"Total coverage: (?P<total>[\d.]+)%"
)
# Most a total may differ between the runs, in points.
COVERAGE_TOLERANCE = 0.5

SuiteRuns = Callable[[str, str], Result]


@pytest.fixture(scope="module")
def suite_runs(gated_projects: Callable[[str], Path]) -> SuiteRuns:
    """Each variant's test run of each mode, made once: as a user runs them right after
    `copier copy` (nothing set up: the embedded server), with coverage as CI measures it."""
    runs: dict[tuple[str, str], Result] = {}

    def get(variant: str, run_name: str) -> Result:
        if (variant, run_name) not in runs:
            command = ["pytest", "-q", "--cov", *TEST_RUNS[run_name]]
            project = gated_projects(variant)
            runs[variant, run_name] = uv_run(project, *command, env=zero_setup_env(), check=False)
        return runs[variant, run_name]

    return get


def coverage_verdict(result: Result) -> re.Match[str]:
    verdict = COVERAGE_VERDICT.search(result.output)
    assert verdict, f"no coverage verdict (is fail_under set?):\n{result.tail()}"
    return verdict


@pytest.mark.parametrize("variant", GATED)
@pytest.mark.parametrize("check_name", STATIC_CHECKS)
def test_static_checks_pass(
    gated_projects: Callable[[str], Path], variant: str, check_name: str
) -> None:
    uv_run(gated_projects(variant), *STATIC_CHECKS[check_name])


@pytest.mark.parametrize("variant", GATED)
@pytest.mark.parametrize("run_name", TEST_RUNS)
def test_test_suite_passes_and_meets_its_coverage_floor(
    suite_runs: SuiteRuns, variant: str, run_name: str
) -> None:
    result = suite_runs(variant, run_name)

    assert " passed" in result.output, result.tail()
    assert " failed" not in result.output, result.tail()
    assert " error" not in result.output, result.tail()
    verdict = coverage_verdict(result)
    assert verdict["verdict"] == "reached", (
        f"{variant}: its tests run {verdict['total']}% of its lines and branches, under its "
        f"floor of {verdict['floor']}% (fail_under, set in template/pyproject.toml.jinja). "
        f"Test the lines the report below names, or move that variant's floor.\n{result.tail()}"
    )
    assert result.returncode == 0, result.tail()


@pytest.mark.parametrize("variant", GATED)
def test_coverage_is_the_same_serially_and_with_two_workers(
    suite_runs: SuiteRuns, variant: str
) -> None:
    # The same runs as above, made once: pytest-cov combines the workers' data.
    totals = {
        name: float(coverage_verdict(suite_runs(variant, name))["total"]) for name in TEST_RUNS
    }

    assert max(totals.values()) - min(totals.values()) <= COVERAGE_TOLERANCE, totals


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
