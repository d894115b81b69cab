"""The template repository's own files: its CI workflow is valid."""

from pathlib import Path

import pytest

from tools.projects import REPO_ROOT, run

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[path.name for path in WORKFLOWS])
def test_workflow_matches_the_schema(workflow: Path) -> None:
    command = ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)]

    run(command, REPO_ROOT)
