"""A release never removes a path that an earlier release rendered under src/, tests/ or
migrations/: `copier update` deletes a file that the old release rendered and the new one does
not, whatever a team wrote in it. Where a module moved, the old path keeps a note, and the
generated suite's `tests/fixtures/moved_modules.py` fails the run while it holds code
(CONTRIBUTING.md, "Move a file that teams edit")."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.test_update import changelog_releases, release_template
from tests.variants import MATRIX
from tools.projects import render

# What teams edit after the first copy: the service's code, its tests, fixtures and conftests,
# and its migrations.
TEAM_EDITED = ("src/", "tests/", "migrations/")


def rendered(project: Path) -> set[str]:
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and path.relative_to(project).as_posix().startswith(TEAM_EDITED)
    }


def answer_sets(questions: set[str]) -> list[dict[str, Any]]:
    """Each distinct set of answers of MATRIX to the questions a release asked ({} for its
    defaults): the services that release could have generated."""
    sets: list[dict[str, Any]] = [{}] + [
        {name: value for name, value in answers.items() if name in questions}
        for answers in MATRIX.values()
    ]
    return [dict(items) for items in dict.fromkeys(tuple(sorted(s.items())) for s in sets)]


def load_plugin(project: Path) -> ModuleType:
    """A rendered project's tests/fixtures/moved_modules.py."""
    path = project / "tests" / "fixtures" / "moved_modules.py"
    spec = importlib.util.spec_from_file_location("moved_modules", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("version", "commit"),
    [pytest.param(*release, id=release[0]) for release in changelog_releases().items()],
)
def test_no_release_removes_a_path_an_earlier_one_rendered(
    version: str, commit: str, template: Path, tmp_path: Path
) -> None:
    release = release_template(commit, tmp_path / version)
    questions = {
        name
        for name in yaml.safe_load((release / "copier.yml").read_text())
        if not name.startswith("_")
    }
    for index, answers in enumerate(answer_sets(questions)):
        old = render(release, tmp_path / f"old-{index}", **answers)
        new = render(template, tmp_path / f"new-{index}", **answers)

        removed = sorted(rendered(old) - rendered(new))
        assert removed == [], f"{version} rendered these ({answers=}): an update deletes them"
        # A module beside a package of the same name never runs: the generated suite checks
        # that each holds no code, and a fresh render's hold none.
        plugin = load_plugin(new)
        shadowed = {
            path
            for path in rendered(new)
            if path.endswith(".py") and (new / path).with_suffix("").is_dir()
        }
        assert shadowed <= plugin.MOVED.keys()
        assert plugin.left_behind(new) == []
