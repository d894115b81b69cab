"""Rendering the template and running commands in the rendered project."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import copier

REPO_ROOT = Path(__file__).resolve().parents[1]


def snapshot_template(destination: Path) -> Path:
    """Copy the working tree's template (questions and files) to `destination`.

    Rendering from a plain copy renders exactly what is on disk, committed or not, without
    Copier's warning about a dirty git repository.
    """
    shutil.copy2(REPO_ROOT / "copier.yml", destination / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", destination / "template")
    return destination


def render(template: Path, destination: Path, **answers: Any) -> Path:
    copier.run_copy(
        str(template), destination, data=answers, defaults=True, quiet=True, unsafe=False
    )
    return destination


def project_env(database: str = "meta_test", **overrides: str) -> dict[str, str]:
    """The environment for a generated project's commands.

    `database` names the project's test databases on the server of TEST_DATABASE_URL, so that
    projects tested side by side never share one.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    env.update(UV_PYTHON_DOWNLOADS="never", PYTHONDONTWRITEBYTECODE="1")
    if url := env.get("TEST_DATABASE_URL"):
        env["TEST_DATABASE_URL"] = urlsplit(url)._replace(path=f"/{database}").geturl()
    env.update(overrides)
    return env


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=env if env is not None else project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check(command: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `command` and fail with its output unless it exits 0."""
    result = run(command, cwd, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-8000:]}\n--- stderr\n{result.stderr[-8000:]}"
    )
    return result


def sync(project: Path) -> Path:
    """Install the generated project's environment (dependencies from the shared uv cache)."""
    check(["uv", "sync", "--quiet"], project)
    return project
