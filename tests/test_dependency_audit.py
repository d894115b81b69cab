"""CI audits the locked dependencies for known vulnerabilities: every generated GitHub workflow
has an `audit` job that runs the same commands as the template's own CI (`uv export` of the
lock, then `pip-audit --strict` against OSV), and those commands fail on a locked version with
a known vulnerability.

No vulnerability database is reachable where the meta suite runs, so the failing case is shown
against a stand-in for OSV's query API, served here: it declares the locked version of one
package vulnerable, and pip-audit is pointed at it (`--osv-url`, the only change to the
command). What this proves: the export covers the lock, the audit queries every package at its
locked version, and a vulnerability fails the step. What it cannot: that OSV itself answers
(GitHub's runners reach it)."""

import json
import shlex
import threading
import tomllib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from tests.variants import MATRIX
from tools.projects import REPO_ROOT, project_env, render, run

PIP_AUDIT = "pip-audit==2.10.1"
GITHUB = {
    name: answers for name, answers in MATRIX.items() if answers.get("ci", "github") == "github"
}
# The package the stand-in database declares vulnerable, at whatever version the lock holds.
VULNERABLE = "starlette"
ADVISORY = "PYSEC-0000-0001"


def audit_commands(workflow: Path) -> list[str]:
    """The `run:` lines of the workflow's `audit` job, in order."""
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    assert "audit" in jobs, f"{workflow}: no audit job"
    return [step["run"] for step in jobs["audit"]["steps"] if "run" in step]


OWN = audit_commands(REPO_ROOT / ".github" / "workflows" / "ci.yml")


class StandInOsv(BaseHTTPRequestHandler):
    """OSV's `POST /v1/query`: one advisory for the declared (name, version), none otherwise."""

    # Set on a subclass of its own per server (the fixture below).
    vulnerable: ClassVar[tuple[str, str] | None] = None
    queried: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        asked = (query["package"]["name"], query["version"])
        type(self).queried.append(asked)
        answer: dict[str, Any] = {}
        if asked == self.vulnerable:
            name, version = asked
            affected: dict[str, Any] = {"package": {"name": name, "ecosystem": "PyPI"}}
            events = [{"introduced": "0"}, {"last_affected": version}]
            affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
            answer = {"vulns": [{"id": ADVISORY, "summary": "stand-in", "affected": [affected]}]}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def osv() -> Iterator[tuple[str, type[StandInOsv]]]:
    """The stand-in's query URL, and its handler class (to declare and to read back)."""
    handler = type("Handler", (StandInOsv,), {"vulnerable": None, "queried": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query", handler
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def locked_versions(project: Path) -> dict[str, str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


def audit(project: Path, temp: Path, osv_url: str) -> tuple[int, str]:
    """Run the workflow's audit commands in `project`, as the runner would, against `osv_url`."""
    env = project_env(RUNNER_TEMP=str(temp))
    export, check = OWN
    run(["bash", "-c", export], project, env=env)
    result = run(
        ["bash", "-c", f"{check} --osv-url {shlex.quote(osv_url)}"], project, env=env, check=False
    )
    return result.returncode, result.output


def test_the_template_audits_its_own_lock_strictly() -> None:
    export, check = OWN
    assert export.startswith("uv export --locked --all-groups --all-extras "), export
    assert f"uvx {PIP_AUDIT} --strict " in check, check
    assert "--vulnerability-service osv" in check, check


@pytest.mark.parametrize("variant", GITHUB)
def test_every_generated_github_workflow_audits_as_the_template_does(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)

    assert audit_commands(project / ".github" / "workflows" / "ci.yml") == OWN


def test_the_audit_fails_on_a_locked_vulnerable_version(
    template: Path, tmp_path: Path, osv: tuple[str, type[StandInOsv]]
) -> None:
    project = render(template, tmp_path / "my-service", auth="jwt")
    run(["uv", "lock"], project)
    versions = locked_versions(project)
    url, handler = osv

    # Nothing known: the audit passes, having asked about every locked package at its version.
    returncode, output = audit(project, tmp_path, url)
    assert returncode == 0, output
    assert (VULNERABLE, versions[VULNERABLE]) in handler.queried
    assert {name for name, _ in handler.queried} >= {"fastapi", "sqlalchemy", "pyjwt", "ruff"}

    # The locked version of one package known vulnerable: the step fails, naming it.
    handler.vulnerable = (VULNERABLE, versions[VULNERABLE])
    returncode, output = audit(project, tmp_path, url)
    assert returncode == 1, output
    assert ADVISORY in output, output
    assert f"{VULNERABLE} {versions[VULNERABLE]}" in " ".join(output.split()), output
