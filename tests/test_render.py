"""Every variant of the matrix renders cleanly: the right files, no template syntax left, every
file parses, formatted and lint-free code, CI, dependency-update and compose files valid against
their schemas, a Dockerfile that hadolint accepts, test shards only where asked, stable output."""

import ast
import filecmp
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.variants import MATRIX
from tools.projects import render, run, snapshot_template

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
    ".github/workflows/container.yml": "vendor.github-workflows",
    ".github/dependabot.yml": "vendor.dependabot",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
    "renovate.json": "vendor.renovate",
    "compose.yaml": "vendor.compose-spec",
}
PARSERS: dict[str, Callable[[str], object]] = {
    ".py": ast.parse,
    ".toml": tomllib.loads,
    # Kubernetes manifests hold several documents.
    ".yml": lambda text: list(yaml.safe_load_all(text)),
    ".yaml": lambda text: list(yaml.safe_load_all(text)),
}
# No cache: the rendered projects are shared by the tests, and stay as rendered.
RUFF = {"format": ["format", "--check", "--no-cache", "."], "lint": ["check", "--no-cache", "."]}
DOCKER = [name for name, answers in MATRIX.items() if answers.get("docker", True)]  # the default
# The Kubernetes manifests, rendered with Docker (tests/test_manifests.py checks them).
KUBERNETES = [
    "k8s/base/kustomization.yaml",
    "k8s/base/deployment.yaml",
    "k8s/base/service.yaml",
    "k8s/base/migration-job.yaml",
    "k8s/base/pod-disruption-budget.yaml",
    "k8s/base/horizontal-pod-autoscaler.yaml",
    "k8s/overlays/production/kustomization.yaml",
    "k8s/overlays/production/resources.yaml",
    "k8s/components/pgbouncer/kustomization.yaml",
    "k8s/components/pgbouncer/deployment.yaml",
    "k8s/components/pgbouncer/service.yaml",
    "k8s/components/pgbouncer/app-through-pgbouncer.yaml",
]


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
    telemetry = answers["telemetry"]
    docker = answers["docker"]
    return {
        "Dockerfile": docker,
        ".dockerignore": docker,
        "compose.yaml": docker,
        **dict.fromkeys(KUBERNETES, docker),
        "k8s/base/secret-key.yaml": docker and jwt,
        ".github/workflows/ci.yml": answers["ci"] == "github",
        ".github/workflows/template-update.yml": answers["ci"] == "github",
        ".github/workflows/container.yml": answers["ci"] == "github" and docker,
        ".github/dependabot.yml": answers["ci"] == "github",
        ".gitlab-ci.yml": answers["ci"] == "gitlab",
        "renovate.json": answers["ci"] != "github",
        f"{package}/security.py": jwt,
        f"{package}/anonymous.py": not jwt,
        f"{package}/password_policy.py": jwt,
        f"{package}/common_passwords.txt": jwt,
        f"{package}/schemas/auth.py": jwt,
        f"{package}/api/auth.py": jwt,
        f"{package}/api/accounts.py": jwt,
        f"{package}/services/accounts.py": jwt,
        f"{package}/mail.py": jwt,
        "migrations/versions/20261204_0003_add_user_passwords.py": jwt,
        "tests/fixtures/auth.py": jwt,
        "tests/integration/test_auth.py": jwt,
        "tests/integration/test_accounts.py": jwt,
        "tests/unit/test_passwords.py": jwt,
        "tests/unit/test_tokens.py": jwt,
        "tests/unit/test_password_policy.py": jwt,
        "tests/unit/test_anonymous.py": not jwt,
        f"{package}/models/post.py": domain,
        f"{package}/schemas/post.py": domain,
        f"{package}/repositories/post.py": domain,
        f"{package}/services/post.py": domain,
        f"{package}/services/moderation.py": domain,
        f"{package}/api/posts.py": domain,
        "migrations/versions/20260101_0001_create_users_and_posts.py": domain,
        "migrations/versions/20260101_0001_create_users.py": not domain,
        "tests/fixtures/post_factories.py": domain,
        "tests/integration/test_posts_api.py": domain,
        "tests/integration/test_moderation.py": domain,
        "tests/unit/test_post_service.py": domain,
        f"{package}/telemetry.py": telemetry,
        "tests/fixtures/telemetry.py": telemetry,
        "tests/integration/test_telemetry.py": telemetry,
        "tests/unit/test_span_export.py": telemetry,
    }


def recorded_answers(project: Path) -> dict[str, Any]:
    """The answers `project` was rendered with, defaults included."""
    recorded: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return recorded


@pytest.mark.parametrize("variant", MATRIX)
def test_the_variants_files_and_no_others_are_rendered(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)

    wrong = [
        f"{name}: {'missing' if expected else 'rendered'}"
        for name, expected in expected_files(recorded_answers(project)).items()
        if (project / name).is_file() != expected
    ]

    assert wrong == []


@pytest.mark.parametrize("variant", MATRIX)
def test_no_template_syntax_is_left(matrix_projects: Callable[[str], Path], variant: str) -> None:
    project = matrix_projects(variant)
    left = []

    for path in rendered_files(project):
        name = path.relative_to(project)
        if path.name.endswith(".jinja"):
            left.append(f"{name}: named .jinja")
        text = GITHUB_EXPRESSION.sub("", path.read_text())
        left += [f"{name}: {marker}" for marker in ("{{", "{%", "{#") if marker in text]

    assert left == []


@pytest.mark.parametrize("variant", MATRIX)
def test_every_file_parses(matrix_projects: Callable[[str], Path], variant: str) -> None:
    project = matrix_projects(variant)
    errors = []

    for path in rendered_files(project):
        if parse := PARSERS.get(path.suffix):
            try:
                parse(path.read_text())
            except (SyntaxError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
                errors.append(f"{path.relative_to(project)}: {exc}")

    assert errors == []


@pytest.mark.parametrize("variant", MATRIX)
def test_test_shards_only_where_asked(matrix_projects: Callable[[str], Path], variant: str) -> None:
    project = matrix_projects(variant)
    recorded = recorded_answers(project)

    sharding = {
        str(path.relative_to(project))
        for path in rendered_files(project)
        if SHARDING.search(path.read_text())
    }

    if recorded.get("test_shards", 1) > 1:
        ci_file = ".github/workflows/ci.yml" if recorded["ci"] == "github" else ".gitlab-ci.yml"
        assert {ci_file, "pyproject.toml", "README.md"} <= sharding, sharding
    else:
        assert sharding == set(), f"test shards in {sharding}"


@pytest.mark.parametrize("variant", MATRIX)
@pytest.mark.parametrize("command", RUFF)
def test_ruff_passes(matrix_projects: Callable[[str], Path], variant: str, command: str) -> None:
    run([sys.executable, "-m", "ruff", *RUFF[command]], matrix_projects(variant))


@pytest.mark.parametrize("variant", MATRIX)
def test_ci_and_compose_files_match_their_schemas(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)
    files_by_schema: dict[str, list[str]] = {}
    for name, schema in SCHEMAS.items():
        if (project / name).is_file():
            files_by_schema.setdefault(schema, []).append(name)
    assert files_by_schema, "no file to check"

    results = [
        run(["check-jsonschema", "--builtin-schema", schema, *names], project, check=False)
        for schema, names in files_by_schema.items()
    ]

    failed = [result.tail() for result in results if result.returncode != 0]
    assert failed == []


@pytest.mark.parametrize("variant", DOCKER)
def test_hadolint_accepts_the_dockerfile(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    run(["hadolint", "Dockerfile"], matrix_projects(variant))


@pytest.mark.parametrize(
    "answers",
    [MATRIX["telemetry-jwt-domain"], MATRIX["none-skeleton-nodocker-none"]],
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
