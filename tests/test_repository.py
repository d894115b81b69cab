"""The template repository's own files: its CI workflow is valid, and its own code passes the
checks that workflow runs (here too, so that a run of the meta suite alone catches them)."""

import sys
from pathlib import Path

import pytest

from tools.projects import REPO_ROOT, run

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[path.name for path in WORKFLOWS])
def test_workflow_matches_the_schema(workflow: Path) -> None:
    command = ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)]

    run(command, REPO_ROOT)


CODE_CHECKS = {
    "format": ["ruff", "format", "--check", "."],
    "lint": ["ruff", "check", "."],
    "types": ["mypy"],
}


@pytest.mark.parametrize("check", CODE_CHECKS.values(), ids=CODE_CHECKS.keys())
def test_own_code_passes(check: list[str]) -> None:
    run([sys.executable, "-m", *check], REPO_ROOT)
