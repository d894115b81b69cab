"""The default project passes its own gate: format, lint, types, and its tests in every mode."""

from pathlib import Path

import pytest

from tests.helpers import check


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["ruff", "format", "--check", "."], id="format"),
        pytest.param(["ruff", "check", "."], id="lint"),
        pytest.param(["mypy", "--strict"], id="types"),
    ],
)
def test_static_checks_pass(default_project: Path, command: list[str]) -> None:
    check(["uv", "run", "--no-sync", *command], default_project)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param([], id="serial"),
        pytest.param(["-n", "2"], id="two-workers"),
        pytest.param(["-p", "randomly", "--randomly-seed=1"], id="random-order-1"),
        pytest.param(["-p", "randomly", "--randomly-seed=2", "-n", "2"], id="random-order-2-n2"),
        pytest.param(["-p", "randomly", "--randomly-seed=3"], id="random-order-3"),
    ],
)
def test_test_suite_passes(default_project: Path, options: list[str]) -> None:
    result = check(["uv", "run", "--no-sync", "pytest", "-q", *options], default_project)

    assert " passed" in result.stdout
    assert " failed" not in result.stdout
    assert " error" not in result.stdout
