"""A fresh render installs what the meta suite tested: every dependency has a range with both
bounds, CI installs exactly the lock, and the update bots move the lock and the bounds."""

import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.variants import MATRIX

LOWER = {">=", "==", "~="}
UPPER = {"<", "<=", "==", "~="}
CI_FILES = [".github/workflows/ci.yml", ".gitlab-ci.yml"]


def requirements(pyproject: Mapping[str, object]) -> Iterator[Requirement]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    groups = pyproject.get("dependency-groups", {})
    assert isinstance(groups, dict)
    for requirement in [*project["dependencies"], *(d for g in groups.values() for d in g)]:
        yield Requirement(requirement)


def unbounded(pyproject: Mapping[str, object]) -> list[str]:
    """The requirements that lack a lower or an upper bound."""
    found = []
    for requirement in requirements(pyproject):
        operators = {specifier.operator for specifier in requirement.specifier}
        if not (operators & LOWER and operators & UPPER):
            found.append(str(requirement))
    return found


@pytest.mark.parametrize("variant", MATRIX)
def test_every_dependency_has_a_lower_and_an_upper_bound(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    pyproject = tomllib.loads((matrix_projects(variant) / "pyproject.toml").read_text())

    assert unbounded(pyproject) == []


def test_the_bound_check_finds_an_open_range() -> None:
    pyproject = {
        "project": {"dependencies": ["fastapi>=0.165,<0.166", "httpx>=0.28"]},
        "dependency-groups": {"dev": ["pytest<10", "ruff==0.17.0", "mypy~=2.4"]},
    }

    assert unbounded(pyproject) == ["httpx>=0.28", "pytest<10"]


@pytest.mark.parametrize("variant", MATRIX)
def test_ci_installs_exactly_the_lock(matrix_projects: Callable[[str], Path], variant: str) -> None:
    project = matrix_projects(variant)
    syncs = [
        line.strip()
        for name in CI_FILES
        if (project / name).is_file()
        for line in (project / name).read_text().splitlines()
        if re.search(r"\buv sync\b", line)
    ]

    assert all("--locked" in sync for sync in syncs), syncs
    if (project / "Dockerfile").is_file():
        dockerfile = (project / "Dockerfile").read_text()
        assert dockerfile.count("uv sync --locked") == 2
        assert "UV_COMPILE_BYTECODE=1" in dockerfile


@pytest.mark.parametrize("variant", ["none-domain-docker-github", "none-domain-docker-gitlab"])
def test_the_update_bot_moves_the_lock_and_the_bounds(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)
    dependabot = project / ".github" / "dependabot.yml"
    if dependabot.is_file():
        updates = yaml.safe_load(dependabot.read_text())["updates"]
        uv = next(update for update in updates if update["package-ecosystem"] == "uv")
        # Dependabot updates uv.lock; `increase` also raises the bounds past a new release.
        assert uv["versioning-strategy"] == "increase"
    else:
        renovate = json.loads((project / "renovate.json").read_text())
        assert renovate["rangeStrategy"] == "bump"
        assert renovate["lockFileMaintenance"]["enabled"] is True
