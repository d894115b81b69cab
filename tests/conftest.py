from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import render, snapshot_template, sync


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def default_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template rendered with default answers, its environment installed."""
    return sync(render(template, tmp_path_factory.mktemp("default") / "my-service"))


@pytest.fixture
def render_project(template: Path, tmp_path: Path) -> Callable[..., Path]:
    """Render (and install) a project of its own for a test that changes it."""

    def make(**answers: Any) -> Path:
        return sync(render(template, tmp_path / "project", **answers))

    return make
