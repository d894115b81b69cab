from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import render, snapshot_template, sync
from tests.variants import GATED


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def gated_projects(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """Render and install each gated variant once, on first use."""
    projects: dict[str, Path] = {}

    def get(variant: str) -> Path:
        if variant not in projects:
            destination = tmp_path_factory.mktemp(variant) / "my-service"
            projects[variant] = sync(render(template, destination, **GATED[variant]))
        return projects[variant]

    return get


@pytest.fixture(scope="session")
def default_project(gated_projects: Callable[[str], Path]) -> Path:
    return gated_projects("default")


@pytest.fixture
def render_project(template: Path, tmp_path: Path) -> Callable[..., Path]:
    """Render (and install) a project of its own for a test that changes it."""

    def make(**answers: Any) -> Path:
        return sync(render(template, tmp_path / "project", **answers))

    return make
