"""The generated GitHub CI builds the image that `docker: true` ships and tries it: a workflow of
its own (`.github/workflows/container.yml`, rendered with Docker only) builds the Dockerfile,
starts the container with no database, waits for `/health` to answer 200, and fails unless the
container's first process runs as a user other than root.

It runs on GitHub's runners, which reach the registries the build pulls from (the Python base
image, uv's image); the meta suite's machine may reach none, so these tests read the workflow:
it is there exactly where Docker is, and its steps say what they check. zizmor and actionlint
check it with the other workflows (tests/test_ci_security.py, tests/test_actionlint.py)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.variants import MATRIX

GITHUB = {
    name: answers for name, answers in MATRIX.items() if answers.get("ci", "github") == "github"
}
CONTAINER = Path(".github", "workflows", "container.yml")


def steps(project: Path) -> list[dict[str, Any]]:
    workflow = yaml.safe_load((project / CONTAINER).read_text())
    assert list(workflow["jobs"]) == ["smoke-test"]
    # The same events as ci.yml: every push to main and every pull request.
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow[True] == ci[True]  # YAML 1.1 reads the key `on` as True
    found: list[dict[str, Any]] = workflow["jobs"]["smoke-test"]["steps"]
    return found


@pytest.mark.parametrize("variant", GITHUB)
def test_the_image_is_built_and_tried_where_docker_is(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())

    if not recorded["docker"]:
        assert not (project / CONTAINER).exists()
        assert not (project / "Dockerfile").exists()
        return
    runs = [" ".join(step["run"].split()) for step in steps(project) if "run" in step]
    image = f"{recorded['project_slug']}:smoke-test"
    build, start, health, user, logs = runs
    assert build == f"docker build --tag {image} ."
    assert start.startswith("docker run --detach --name service --publish 127.0.0.1:8000:8000")
    assert start.endswith(f" {image}")
    # A JWT service refuses to start without a key: the run makes one of its own.
    assert ("--env SECRET_KEY=" in start) == (recorded["auth"] == "jwt")
    assert "http://127.0.0.1:8000/health" in health
    assert '[ "$status" = 200 ]' in health
    assert "exit 1" in health
    assert "docker exec service" in user
    assert 'os.stat("/proc/1").st_uid' in user
    assert user.endswith('[ "$uid" != 0 ]')
    assert logs == "docker logs service"
