"""A release never removes a path that an earlier release rendered under src/, tests/ or
migrations/: `copier update` deletes a file that the old release rendered and the new one does
not, whatever a team wrote in it. Where a module moved, the old path keeps a note in what an
update renders (a new copy has none of them), and the generated suite's
`tests/test_moved_modules.py`, rendered by updates only, fails while it holds code
(CONTRIBUTING.md, "Move a file that teams edit")."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier._main import _operation

from tests.test_update import changelog_releases, release_template
from tests.variants import MATRIX
from tools.projects import load_moved_modules, render

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


@contextmanager
def updating() -> Iterator[None]:
    """Render as `copier update` renders the new release (`_copier_operation == "update"`),
    which is what decides whether an update deletes a path. (Copier keeps the operation in a
    context variable of its own.)"""
    token = _operation.set("update")
    try:
        yield
    finally:
        _operation.reset(token)


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
        with updating():
            new = render(template, tmp_path / f"new-{index}", **answers)
        fresh = render(template, tmp_path / f"fresh-{index}", **answers)

        removed = sorted(rendered(old) - rendered(new))
        assert removed == [], f"{version} rendered these ({answers=}): an update deletes them"
        # A module beside a package of the same name never runs: the generated suite checks
        # that each holds no code, and what the template renders there holds none.
        moved = load_moved_modules(new)
        shadowed = {
            path
            for path in rendered(new)
            if path.endswith(".py") and (new / path).with_suffix("").is_dir()
        }
        assert shadowed <= moved.MOVED.keys()
        assert [name for name in moved.MOVED if moved.what_it_holds((new / name).read_text())] == []
        # A new copy carries none of them.
        kept_for_updates = [*moved.MOVED, "tests/test_moved_modules.py"]
        assert [name for name in kept_for_updates if (fresh / name).exists()] == []
