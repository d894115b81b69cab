"""Every variant of the matrix renders cleanly: the right files, no template syntax left, every
file parses, formatted and lint-free code, CI, dependency-update and compose files valid against
their schemas, a Dockerfile that hadolint accepts, test shards only where asked, stable output."""

import ast
import filecmp
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import render, run, snapshot_template
from tests.variants import MATRIX

SKIPPED_DIRECTORIES = {
    ".venv",
    ".git",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "__pycache__",
}
# GitHub Actions' own expression syntax, which the workflow files must keep.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# Anything of splitting the tests across CI jobs (test_shards > 1).
SHARDING = re.compile(r"pytest-split|--splits|\.test_durations")
SCHEMAS = {
    ".github/workflows/ci.yml": "vendor.github-workflows",
    ".github/workflows/template-update.yml": "vendor.github-workflows",
    ".github/dependabot.yml": "vendor.dependabot",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
    "renovate.json": "vendor.renovate",
    "compose.yaml": "vendor.compose-spec",
}


def rendered_files(project: Path) -> list[Path]:
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file() and not SKIPPED_DIRECTORIES & set(path.relative_to(project).parts)
    ]


def expected_files(answers: dict[str, Any]) -> dict[str, bool]:
    """Files that exist in some variants only, and whether they belong in this one."""
    package = f"src/{answers['package_name']}"
    jwt = answers["auth"] == "jwt"
    domain = answers["example_domain"]
    return {
        "Dockerfile": answers["docker"],
        ".dockerignore": answers["docker"],
        "compose.yaml": answers["docker"],
        ".github/workflows/ci.yml": answers["ci"] == "github",
        ".github/workflows/template-update.yml": answers["ci"] == "github",
        ".github/dependabot.yml": answers["ci"] == "github",
        ".gitlab-ci.yml": answers["ci"] == "gitlab",
        "renovate.json": answers["ci"] != "github",
        f"{package}/security.py": jwt,
        f"{package}/api/auth.py": jwt,
        "tests/fixtures/auth.py": jwt,
        "tests/integration/test_auth.py": jwt,
        f"{package}/api/posts.py": domain,
        "tests/integration/test_posts_api.py": domain,
        "tests/unit/test_post_service.py": domain,
    }


@pytest.mark.parametrize("answers", MATRIX.values(), ids=MATRIX.keys())
def test_variant_renders_cleanly(template: Path, tmp_path: Path, answers: dict[str, Any]) -> None:
    project = render(template, tmp_path / "my-service", **answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())

    for name, expected in expected_files(recorded).items():
        assert (project / name).is_file() == expected, f"{name} present: {not expected}"
    sharding: set[str] = set()
    for path in rendered_files(project):
        text = path.read_text()
        if SHARDING.search(text):
            sharding.add(str(path.relative_to(project)))
        assert not path.name.endswith(".jinja"), path
        for marker in ("{{", "{%", "{#"):
            assert marker not in GITHUB_EXPRESSION.sub("", text), f"{marker} left in {path}"
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(text)
    if recorded.get("test_shards", 1) > 1:
        ci_file = ".github/workflows/ci.yml" if recorded["ci"] == "github" else ".gitlab-ci.yml"
        assert {ci_file, "pyproject.toml", "README.md"} <= sharding, sharding
    else:
        assert sharding == set(), f"test shards in {sharding}"

    for command in (["format", "--check", "."], ["check", "."]):
        run([sys.executable, "-m", "ruff", *command], project)
    for name, schema in SCHEMAS.items():
        if (project / name).is_file():
            run(["check-jsonschema", "--builtin-schema", schema, name], project)
    if (project / "Dockerfile").is_file():
        run(["hadolint", "Dockerfile"], project)


@pytest.mark.parametrize(
    "answers",
    [MATRIX["jwt-domain-docker-github"], MATRIX["none-skeleton-nodocker-none"]],
    ids=["everything", "nothing"],
)
def test_rendering_is_deterministic(
    template: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    first = render(template, tmp_path / "first", **answers)
    second = render(template, tmp_path / "second", **answers)

    names = [path.relative_to(first) for path in rendered_files(first)]
    assert names == [path.relative_to(second) for path in rendered_files(second)]
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert all(b"\r\n" not in (first / name).read_bytes() for name in names)


def test_what_python_and_editors_leave_in_the_template_is_not_rendered(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path)
    junk = [
        "tests/fixtures/__pycache__/database.cpython-311.pyc",
        "src/.DS_Store",
        "README.md.jinja~",
    ]
    for name in junk:
        path = template / "template" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"junk")

    project = render(template, tmp_path / "my-service")

    left = [*project.rglob("__pycache__"), *project.rglob(".DS_Store"), *project.rglob("*~")]
    assert left == [], f"rendered: {left}"
